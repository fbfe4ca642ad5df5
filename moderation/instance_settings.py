"""Changing the instance's settings from the browser: an admin's values stored over the config's
(`storage.instance_profile`), each change one transaction with its audit entry. Every value is checked
before anything is written, so a refused change leaves all of them as they were."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moderation.errors import InvalidSetting
from storage.accounts import EMAIL_PATTERN, MAX_EMAIL
from storage.audit import add_audit_entry
from storage.context import Context
from storage.instance_profile import (
    FIELDS,
    TEXT_FIELDS,
    drop_override,
    instance_profile,
    store_override,
)
from storage.settings import REGISTRATION_MODES

# Longest values, in characters: a name fits a page title, a description a few sentences (shown whole by
# apps), a message a paragraph; the Markdown texts are long documents (the web forms' field limit).
MAX_LENGTHS = {
    "name": 100,
    "description": 1000,
    "contact_email": MAX_EMAIL,
    "registration_mode": 16,
    "registration_message": 1000,
    "about": 20_000,
    "terms_of_service": 20_000,
    "privacy_policy": 20_000,
}
AUDIT_ACTION = "instance.settings"


def normalised_value(field: str, value: str) -> str:
    """`value` as it will be stored for `field` (line fields trimmed, texts' line ends unified); raises
    InvalidSetting naming the field and the problem."""
    if field not in FIELDS:
        raise InvalidSetting(field, "unknown_field")
    value = value.replace("\r\n", "\n")
    if field not in TEXT_FIELDS:
        value = value.strip()
    if len(value) > MAX_LENGTHS[field]:
        raise InvalidSetting(field, "too_long")
    if field == "name" and not value:
        raise InvalidSetting(field, "blank")
    if field == "registration_mode" and value not in REGISTRATION_MODES:
        raise InvalidSetting(field, "invalid")
    if field == "contact_email" and value and not EMAIL_PATTERN.match(value):
        raise InvalidSetting(field, "invalid")
    return value


def _audited(field: str, value: str) -> Any:
    """What the audit entry keeps of a new value: short ones whole, a text by its length."""
    return {"characters": len(value)} if field in TEXT_FIELDS else value


async def change_instance_settings(ctx: Context, wanted: Mapping[str, str], *, actor: str) -> list[str]:
    """Store the values of `wanted` (field → value) that differ from those in force, in one transaction with
    one audit entry; the fields changed, in page order (none: nothing written)."""
    checked = {field: normalised_value(field, value) for field, value in wanted.items()}
    async with ctx.db.transaction() as session:
        profile = await instance_profile(session, ctx.settings)
        changed = [field for field in FIELDS if field in checked and checked[field] != profile.value(field)]
        for field in changed:
            await store_override(session, ctx.settings, field, checked[field], by=actor)
        if changed:
            await add_audit_entry(
                session,
                actor=actor,
                action=AUDIT_ACTION,
                target=ctx.settings.domain,
                details={field: _audited(field, checked[field]) for field in changed},
            )
    return changed


async def reset_instance_setting(ctx: Context, field: str, *, actor: str) -> bool:
    """Bring back the config's value of `field`, audited; False (nothing written) when it was not changed."""
    if field not in FIELDS:
        raise InvalidSetting(field, "unknown_field")
    async with ctx.db.transaction() as session:
        dropped = await drop_override(session, ctx.settings, field)
        if dropped:
            await add_audit_entry(
                session,
                actor=actor,
                action="instance.settings.reset",
                target=ctx.settings.domain,
                details={"field": field},
            )
    return dropped
