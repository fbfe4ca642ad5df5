"""Which handler runs each durable queue: the composition root wires packages' job handlers together."""

from __future__ import annotations

from archive.daily import ARCHIVE_QUEUE, archive_handler
from inbox.worker import inbox_job_handler
from mail import SUPPORTED_LANGUAGES, MailTemplates
from moderation import (
    ANNOUNCEMENTS_QUEUE,
    MODERATION_QUEUE,
    announcement_events_handler,
    purge_handler,
)
from outbox.account_jobs import account_job_handler
from outbox.actions.account_deletion import ACCOUNTS_QUEUE
from outbox.deliver import delivery_handler
from outbox.fan_out import fan_out_handler
from outbox.group_jobs import group_job_handler
from outbox.poll_jobs import poll_job_handler
from outbox.quote_jobs import quote_job_handler
from outbox.scheduled_jobs import scheduled_job_handler
from outbox.web_push import web_push_handler
from registration import MAIL_QUEUE, mail_job_handler
from storage.context import Context
from storage.deliveries import DELIVER_QUEUE, FAN_OUT_QUEUE
from storage.groups import GROUPS_QUEUE
from storage.media_cache import REMOTE_MEDIA_QUEUE
from storage.media_lifecycle import MEDIA_QUEUE, media_handler
from storage.polls import POLLS_QUEUE
from storage.preview_cards import CARDS_QUEUE
from storage.profile_jobs import PROFILE_QUEUE
from storage.push import PUSH_QUEUE
from storage.quotes import QUOTES_QUEUE
from storage.retention import MAINTENANCE_QUEUE, maintenance_handler
from storage.scheduled_statuses import SCHEDULED_QUEUE
from storage.worker import JobHandler
from web.i18n import load_translations
from webfinger.link_cards import cards_handler
from webfinger.media_cache import remote_media_handler
from webfinger.profiles import profile_handler


def job_handlers(ctx: Context) -> dict[str, JobHandler]:
    """Queue name → handler, bound to `ctx`."""
    # The fan-out first: within a drain round its deliveries are then due before the delivery queue's turn.
    handlers: dict[str, JobHandler] = {FAN_OUT_QUEUE: fan_out_handler(ctx)}
    handlers[DELIVER_QUEUE] = delivery_handler(ctx)
    handlers["inbox"] = inbox_job_handler(ctx)
    handlers[MODERATION_QUEUE] = purge_handler(ctx)
    handlers[ANNOUNCEMENTS_QUEUE] = announcement_events_handler(ctx)
    handlers[POLLS_QUEUE] = poll_job_handler(ctx)
    handlers[SCHEDULED_QUEUE] = scheduled_job_handler(ctx)
    handlers[QUOTES_QUEUE] = quote_job_handler(ctx)
    handlers[GROUPS_QUEUE] = group_job_handler(ctx)
    handlers[PROFILE_QUEUE] = profile_handler(ctx)
    handlers[ACCOUNTS_QUEUE] = account_job_handler(ctx)
    handlers[CARDS_QUEUE] = cards_handler(ctx)
    handlers[MAINTENANCE_QUEUE] = maintenance_handler(
        ctx.db,
        security_log_days=ctx.settings.privacy.security_log_days,
        data_dir=ctx.settings.server.data_dir,
        deleted_media_days=ctx.settings.privacy.deleted_media_days,
        orphan_upload_hours=ctx.settings.media.orphan_upload_hours,
        remote_cache_days=ctx.settings.media.remote_cache_days,
        audit_retention_days=ctx.settings.organisations.audit_retention_days,
    )
    handlers[ARCHIVE_QUEUE] = archive_handler(ctx)
    handlers[MAIL_QUEUE] = mail_job_handler(
        ctx, MailTemplates({language: load_translations(language) for language in SUPPORTED_LANGUAGES})
    )
    handlers[MEDIA_QUEUE] = media_handler(ctx.db, data_dir=ctx.settings.server.data_dir)
    handlers[REMOTE_MEDIA_QUEUE] = remote_media_handler(ctx)
    handlers[PUSH_QUEUE] = web_push_handler(
        ctx, avatar_placeholder=f"{ctx.base_url}/avatars/original/missing.png"
    )
    return handlers
