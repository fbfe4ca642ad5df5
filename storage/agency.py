"""The verified-agency mark: a government organisation's identifier in the Dutch government's organisation
register and its official website (issue 15 part 5, docs/ORGANISATIONS.md).

An admin sets it on a local account (`moderation.agency`); a remote account's mark is read from its actor's
`governmentOrganization` property and shown only when the actor's own instance is trusted
(`federation.trusted_government_instances`, `shows_agency_mark`): a remote actor's claim alone proves
nothing."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from storage.models import Account

# The shown names of the mark's two profile fields ("government organisation" in Dutch, as the register
# and the mark are Dutch).
MARK_FIELD_NAME = "Overheidsorganisatie"
WEBSITE_FIELD_NAME = "Website"
MAX_WEBSITE = 2047  # a profile field value's own limit

# TOOI identifiers: https://identifier.overheid.nl/tooi/id/<type>/<code>, e.g. …/ministerie/mnre1034 or
# …/gemeente/gm0363; types and codes are lower-case letters, digits, and `_`/`-`.
_TOOI = re.compile(
    r"https://identifier\.overheid\.nl/tooi/id/[a-z][a-z0-9_-]{0,63}/[a-z0-9][a-z0-9_.-]{0,63}"
)
_OIN = re.compile(r"[0-9]{20}")


class AgencyMarkError(ValueError):
    """An identifier or website that is not of the required form."""


def check_government_id(text: str) -> str:
    """The identifier as stored: a TOOI URI or a 20-digit OIN, by format; AgencyMarkError otherwise."""
    value = text.strip()
    if _TOOI.fullmatch(value) or _OIN.fullmatch(value):
        return value
    raise AgencyMarkError(
        f"{text!r} is neither a TOOI identifier (https://identifier.overheid.nl/tooi/id/TYPE/CODE) "
        "nor an OIN (20 digits)"
    )


def check_government_website(text: str) -> str:
    """The official website as stored: one https URL with a host; AgencyMarkError otherwise."""
    value = text.strip()
    parts = urlsplit(value)
    if (
        parts.scheme != "https"
        or not parts.hostname
        or len(value) > MAX_WEBSITE
        or any(c.isspace() for c in value)
    ):
        raise AgencyMarkError(f"{text!r} is not an https website address")
    return value


def claimed_mark(document: dict[str, Any]) -> tuple[str, str] | None:
    """The (identifier, website) an actor document claims in `governmentOrganization`, when both are of
    the required form; a claim only (see `shows_agency_mark`)."""
    claim = document.get("governmentOrganization")
    if not isinstance(claim, dict):
        return None
    identifier, website = claim.get("identifier"), claim.get("url")
    if not isinstance(identifier, str) or not isinstance(website, str):
        return None
    try:
        return check_government_id(identifier), check_government_website(website)
    except AgencyMarkError:
        return None


def trusted_government_host(host: str | None, trusted_hosts: Iterable[str]) -> bool:
    """Whether an instance (its host, as `accounts.domain`) is one whose agency marks we show."""
    return host is not None and host.lower() in {trusted.lower() for trusted in trusted_hosts}


def shows_agency_mark(account: Account, trusted_hosts: Iterable[str]) -> bool:
    """The one decision whether an account's mark is shown (API, web): a local account's that an admin
    set, or a remote account's whose own instance is trusted; never a remote claim alone."""
    if not account.government_id or account.government_verified_at is None:
        return False
    return account.domain is None or trusted_government_host(account.domain, trusted_hosts)


def accept_remote_mark(
    values: dict[str, Any], claim: tuple[str, str] | None, trusted_hosts: Iterable[str]
) -> None:
    """Put the mark an actor claims into its row's `values` only when its instance is trusted; else clear it."""
    trusted = trusted_government_host(values.get("domain"), trusted_hosts)
    values["government_id"], values["government_website"] = claim if claim and trusted else (None, None)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fields_with_mark(
    account: Account, fields: list[dict[str, Any]], trusted_hosts: Iterable[str]
) -> list[dict[str, Any]]:
    """Rendered profile fields (name, HTML value, verified_at) with the mark shown, when it is
    (`shows_agency_mark`): a local account's mark and website come first, as its actor publishes them; a
    trusted remote account's own mark field gets `verified_at`. Anything else is left as it is."""
    if not shows_agency_mark(account, trusted_hosts):
        return fields
    assert account.government_id is not None and account.government_verified_at is not None
    verified_at = _iso(account.government_verified_at)
    if account.domain is not None:
        marked = [
            {**field, "verified_at": field.get("verified_at") or verified_at}
            if field.get("name") == MARK_FIELD_NAME
            else field
            for field in fields
        ]
        if any(field.get("name") == MARK_FIELD_NAME for field in fields):
            return marked
    else:
        marked = fields
    mark = {"name": MARK_FIELD_NAME, "value": html.escape(account.government_id), "verified_at": verified_at}
    return [mark, *marked] if account.domain is not None else [mark, *mark_website_fields(account), *marked]


def mark_website_fields(account: Account) -> list[dict[str, Any]]:
    """A local account's official-website field, rendered; `verified_at` once the site links back to the
    profile with rel="me" (`webfinger.profiles.verify_links`), as any profile field's link."""
    if not account.government_website:
        return []
    url = html.escape(account.government_website)
    verified_at = account.government_website_verified_at
    return [
        {
            "name": WEBSITE_FIELD_NAME,
            "value": f'<a href="{url}" target="_blank" rel="nofollow noopener noreferrer me">{url}</a>',
            "verified_at": _iso(verified_at) if verified_at is not None else None,
        }
    ]
