"""Who is acting when an organisation acts: the staff login behind the request or job being served.

Set by the client API's authentication when a token acts for an organisation (and by the web interface's
account switcher), read by `outbox.actions._unit.record_activity`, which writes the organisation's audit entry
in the same transaction as the activity. A context variable like `storage.request_ids`: every action of an
organisation goes through one recording point, so no action can forget to pass the actor along.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class ActingStaff:
    """A staff member acting as an organisation, and through what."""

    organisation_id: int
    organisation: str  # its username
    user_id: int | None  # None: an admin at the command line
    login: str  # the staff member's own username
    role: str
    via: str  # "app NAME (token ID)", "web session"


ACTING_STAFF: ContextVar[ActingStaff | None] = ContextVar("acting_staff", default=None)
