"""The instance's effective settings: its name, description, contact address, registration mode and message,
and its about text, terms of service and privacy policy — the config's values, each replaced by the value
an admin stored in the browser (`/web/admin/settings`, `moderation.instance_settings`) when there is one.

Every consumer reads them here: the instance API, NodeInfo, the web pages, sign-up and the mails. They are
read from the database on each use, never cached, so a change (the registration mode above all) holds at once
in every process. The rows are keyed by the instance's domain, so an install serving several domains can keep
a set per domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal, cast

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.context import Context
from storage.instance_texts import InstanceText, read_instance_text, render_markdown
from storage.models import InstanceSettingOverride
from storage.settings import RegistrationMode, Settings, admits_anyone
from storage.types import utcnow

TextName = Literal["about", "terms_of_service", "privacy_policy"]
TEXT_FIELDS: tuple[TextName, ...] = ("about", "terms_of_service", "privacy_policy")
LINE_FIELDS = ("name", "description", "contact_email", "registration_mode", "registration_message")
FIELDS = (*LINE_FIELDS, *TEXT_FIELDS)  # what an admin may override, in the order the page shows them


@dataclass(frozen=True)
class StoredValue:
    """An override as stored: the value, and who stored it when."""

    value: str
    updated_by: str
    updated_at: datetime


def _file_of(settings: Settings, text: TextName) -> str:
    instance = settings.instance
    return {
        "about": instance.about_file,
        "terms_of_service": instance.terms_of_service_file,
        "privacy_policy": instance.privacy_policy_file,
    }[text]


def configured_value(settings: Settings, field: str) -> str:
    """A field's value in the config (a text's: the Markdown of its file, "" when none is named)."""
    if field in TEXT_FIELDS:
        path = _file_of(settings, cast(TextName, field))
        return Path(path).read_text(encoding="utf-8") if path else ""
    return {
        "name": settings.instance.name,
        "description": settings.instance.description,
        "contact_email": settings.instance.contact_email,
        "registration_mode": settings.registration.mode,
        "registration_message": settings.registration.message,
    }[field]


@dataclass(frozen=True)
class InstanceProfile:
    """The settings in force: the config's (`settings`) under the admin's `overrides` (field → value)."""

    settings: Settings
    overrides: Mapping[str, StoredValue]

    def _line(self, field: str) -> str:
        stored = self.overrides.get(field)
        return stored.value if stored is not None else configured_value(self.settings, field)

    @property
    def name(self) -> str:
        return self._line("name")

    @property
    def description(self) -> str:
        return self._line("description")

    @property
    def contact_email(self) -> str:
        return self._line("contact_email")

    @property
    def registration_mode(self) -> RegistrationMode:
        return cast(RegistrationMode, self._line("registration_mode"))

    @property
    def registration_message(self) -> str:
        return self._line("registration_message")

    @property
    def admits_anyone(self) -> bool:
        return admits_anyone(self.registration_mode)

    def value(self, field: str) -> str:
        """A field's value in force as an admin edits it (a text's Markdown)."""
        return self._line(field)

    def has_text(self, text: TextName) -> bool:
        """Whether the instance has this text at all (an empty stored text withdraws the config's file)."""
        stored = self.overrides.get(text)
        return bool(stored.value.strip()) if stored is not None else bool(_file_of(self.settings, text))

    def text(self, text: TextName) -> InstanceText | None:
        """The text rendered, None when the instance has none."""
        stored = self.overrides.get(text)
        if stored is None:
            return read_instance_text(_file_of(self.settings, text))
        if not stored.value.strip():
            return None
        return InstanceText(render_markdown(stored.value), stored.updated_at)

    def terms_effective_date(self, terms: InstanceText) -> date:
        """The day the terms took effect: the day an admin stored them, else the configured day, else the day
        their file last changed."""
        if "terms_of_service" not in self.overrides and self.settings.instance.terms_of_service_date:
            return date.fromisoformat(self.settings.instance.terms_of_service_date)
        return terms.updated_at.date()


async def instance_profile(session: AsyncSession, settings: Settings) -> InstanceProfile:
    """The instance's settings in force now (one query)."""
    rows = await session.execute(
        select(InstanceSettingOverride).where(InstanceSettingOverride.domain == settings.domain)
    )
    overrides = {
        row.field: StoredValue(row.value, row.updated_by, row.updated_at)
        for row in rows.scalars()
        if row.field in FIELDS
    }
    return InstanceProfile(settings, overrides)


async def store_override(
    session: AsyncSession, settings: Settings, field: str, value: str, *, by: str
) -> None:
    """Store `value` in place of the config's `field` (in the caller's transaction)."""
    row = await session.get(InstanceSettingOverride, (settings.domain, field))
    if row is None:
        session.add(
            InstanceSettingOverride(
                domain=settings.domain, field=field, value=value, updated_by=by, updated_at=utcnow()
            )
        )
    else:
        row.value, row.updated_by, row.updated_at = value, by, utcnow()
    await session.flush()


async def drop_override(session: AsyncSession, settings: Settings, field: str) -> bool:
    """Bring the config's `field` back; False when it was not overridden."""
    result = await session.execute(
        delete(InstanceSettingOverride).where(
            InstanceSettingOverride.domain == settings.domain, InstanceSettingOverride.field == field
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def read_instance_profile(ctx: Context) -> InstanceProfile:
    """`instance_profile` in a read session of its own (for callers holding none)."""
    async with ctx.db.read() as session:
        return await instance_profile(session, ctx.settings)
