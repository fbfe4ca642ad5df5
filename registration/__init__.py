"""Sign-up and recovery: registration modes, invites, approval, e-mail confirmation and password reset.
It sits above `storage` and `mail`, below `clientapi` and `web`, which both call these functions."""

from registration.approval import approve_sign_up, pending_sign_ups, reject_sign_up
from registration.errors import (
    AlreadyConfirmed,
    NotFound,
    RegistrationClosed,
    RegistrationError,
    TooManyAttempts,
)
from registration.invites import NewInvite, create_invite, invite_url, revoke_invite
from registration.mail_jobs import MAIL_QUEUE, MailKind, mail_job_handler
from registration.recovery import (
    InvalidToken,
    confirm_email,
    request_password_reset,
    resend_confirmation,
    reset_password,
    reset_token_is_live,
)
from registration.signup import (
    RegistrationFacts,
    SignedUp,
    SignUp,
    invite_is_usable,
    mail_configured,
    registration_facts,
    sign_up,
    sign_up_allowed,
)

__all__ = [
    "MAIL_QUEUE",
    "AlreadyConfirmed",
    "InvalidToken",
    "MailKind",
    "NewInvite",
    "NotFound",
    "RegistrationClosed",
    "RegistrationError",
    "RegistrationFacts",
    "SignUp",
    "SignedUp",
    "TooManyAttempts",
    "approve_sign_up",
    "confirm_email",
    "create_invite",
    "invite_is_usable",
    "invite_url",
    "mail_configured",
    "mail_job_handler",
    "pending_sign_ups",
    "registration_facts",
    "reject_sign_up",
    "request_password_reset",
    "resend_confirmation",
    "reset_password",
    "reset_token_is_live",
    "revoke_invite",
    "sign_up",
    "sign_up_allowed",
]
