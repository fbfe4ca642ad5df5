"""Moderation: one function per moderation action, each one transaction that writes its audit entry.

The CLI (`plein domain …`, `plein account suspend`, `plein rule …`, `plein emoji …`, `plein audit list`),
the admin API and the web moderation pages (`web.moderation`) call these and nothing else; who may call
which is `moderation.permissions`'s decision. Purges of cut-off domains run as jobs of the `moderation` queue (`purge_handler`).
"""

from moderation.accounts import moderate_account
from moderation.announcements import (
    ANNOUNCEMENTS_QUEUE,
    ANNOUNCEMENTS_TOPIC,
    AnnouncementRequest,
    announcement_events_handler,
    publish_announcement,
    withdraw_announcement,
)
from moderation.appeals import appeal_warning, decide_appeal
from moderation.domains import (
    DomainOutcome,
    allow_domain,
    block_domain,
    disallow_domain,
    unblock_domain,
)
from moderation.emojis import add_emoji, remove_emoji
from moderation.errors import AppealRefused, InvalidSetting, InvalidTerms, ModerationError, NothingToUndo
from moderation.instance_settings import change_instance_settings, reset_instance_setting
from moderation.logins import change_role, reset_second_factor
from moderation.permissions import (
    NotPermitted,
    check_may_act_on_report,
    check_may_moderate,
    may_change_roles,
    may_moderate,
)
from moderation.purge import MODERATION_QUEUE, purge_handler
from moderation.reports import (
    REPORT_ACTIONS,
    act_on_report,
    assign_report,
    delete_reported_statuses,
    lift_suspension_in,
    reopen_report,
    resolve_report,
    silence_reported_account,
    suspend_account_in,
    suspend_reported_account,
    warn_reported_account,
)
from moderation.rules import add_rule, edit_rule, move_rule, remove_rule
from moderation.severance import Counts
from moderation.trends import review_link, review_status, review_tag
from moderation.warnings import WARNING_ACTIONS, Telling

__all__ = [
    "AppealRefused",
    "appeal_warning",
    "decide_appeal",
    "NotPermitted",
    "REPORT_ACTIONS",
    "Telling",
    "WARNING_ACTIONS",
    "act_on_report",
    "change_role",
    "check_may_act_on_report",
    "check_may_moderate",
    "may_change_roles",
    "may_moderate",
    "reset_second_factor",
    "warn_reported_account",
    "ANNOUNCEMENTS_QUEUE",
    "announcement_events_handler",
    "ANNOUNCEMENTS_TOPIC",
    "AnnouncementRequest",
    "publish_announcement",
    "withdraw_announcement",
    "MODERATION_QUEUE",
    "moderate_account",
    "Counts",
    "DomainOutcome",
    "InvalidTerms",
    "ModerationError",
    "InvalidSetting",
    "change_instance_settings",
    "reset_instance_setting",
    "NothingToUndo",
    "add_emoji",
    "assign_report",
    "add_rule",
    "allow_domain",
    "block_domain",
    "delete_reported_statuses",
    "disallow_domain",
    "purge_handler",
    "remove_emoji",
    "remove_rule",
    "edit_rule",
    "move_rule",
    "review_link",
    "review_status",
    "review_tag",
    "reopen_report",
    "resolve_report",
    "silence_reported_account",
    "lift_suspension_in",
    "suspend_account_in",
    "suspend_reported_account",
    "unblock_domain",
]
