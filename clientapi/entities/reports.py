"""The Report entity: what the reporter filed, as Mastodon answers it."""

from __future__ import annotations

from typing import Any

from clientapi.entities.accounts import account_to_entity
from clientapi.entities.common import format_optional_time, format_time
from storage.context import Context
from storage.models import Account, Report


def report_to_entity(report: Report, target: Account, ctx: Context) -> dict[str, Any]:
    return {
        "id": str(report.id),
        "action_taken": report.resolved_at is not None,
        "action_taken_at": format_optional_time(report.resolved_at),
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": format_time(report.created_at),
        "status_ids": [str(status_id) for status_id in report.status_ids] or None,
        "rule_ids": [str(rule_id) for rule_id in report.rule_ids] or None,
        "collection_ids": [],
        "target_account": account_to_entity(target, ctx),
    }
