"""The ScheduledStatus entity."""

from __future__ import annotations

from typing import Any

from clientapi.entities.common import format_time
from clientapi.entities.media import media_to_entity
from storage.context import Context
from storage.models import MediaAttachment, ScheduledStatus


def scheduled_to_entity(
    ctx: Context, scheduled: ScheduledStatus, media: list[MediaAttachment]
) -> dict[str, Any]:
    """A scheduled status with the parameters it will be posted with and the media it holds."""
    return {
        "id": str(scheduled.id),
        "scheduled_at": format_time(scheduled.scheduled_at),
        # Who approved a reviewed draft is Plein's own bookkeeping (the audit trail), not a posting parameter.
        "params": {key: value for key, value in scheduled.params.items() if key != "approval"},
        "media_attachments": [media_to_entity(ctx, item) for item in media],
    }
