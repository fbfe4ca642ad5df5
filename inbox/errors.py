"""Errors of the receive path, each carrying the HTTP status the inbox answers with (mapped to a JSON
`{"error": ...}` response in `plein.errors`). Signature failures are `apub.errors.SignatureError`s.

Tree::

    InboxError (400)
    ├── UnsupportedMediaType (415)   not an ActivityStreams content type
    ├── DomainRefused (403)          the signing host is suspended, not allow-listed, or our own
    ├── MalformedActivity (400)      not JSON, too deep, not an object, or missing id / type / actor
    ├── ActorMismatch (401)          the signer is not the activity's actor and the origin did not vouch
    ├── ForeignObject (400)          an object or id on another origin than its actor
    ├── NotPermitted (403)           acting on someone else's object (Update / Delete / Accept …)
    └── UnknownRecipient (404)       personal inbox of no local account

    Rejected                         raised by handlers in the worker: the activity is dropped
"""

from __future__ import annotations


class InboxError(Exception):
    """A delivery the inbox refuses."""

    status_code = 400


class UnsupportedMediaType(InboxError):
    status_code = 415


class DomainRefused(InboxError):
    status_code = 403


class MalformedActivity(InboxError):
    status_code = 400


class ActorMismatch(InboxError):
    status_code = 401


class ForeignObject(InboxError):
    status_code = 400


class NotPermitted(InboxError):
    status_code = 403


class UnknownRecipient(InboxError):
    status_code = 404


class Rejected(Exception):  # noqa: N818 - a verdict, raised by handlers in the worker
    """An accepted delivery whose content a handler refuses (recorded on the job, nothing stored)."""
