"""The server's rules, changed by an admin — added, reworded, moved up or down, removed: each change one
transaction with its audit entry."""

from __future__ import annotations

from moderation.errors import InvalidSetting, ModerationError, NothingToUndo
from storage import instance_rules
from storage.audit import add_audit_entry
from storage.context import Context
from storage.models import InstanceRule

MAX_RULE_TEXT = 300  # Mastodon's limit on a rule's text
MAX_RULE_HINT = 2000


def _checked(text: str, hint: str) -> tuple[str, str]:
    """A rule's text and hint trimmed; InvalidSetting when the text is empty or either is too long."""
    text, hint = text.strip(), hint.strip()
    if not text:
        raise InvalidSetting("rule_text", "blank", "a rule needs a text")
    too_long = f"a rule's text is at most {MAX_RULE_TEXT} characters, its hint {MAX_RULE_HINT}"
    if len(text) > MAX_RULE_TEXT:
        raise InvalidSetting("rule_text", "too_long", too_long)
    if len(hint) > MAX_RULE_HINT:
        raise InvalidSetting("rule_hint", "too_long", too_long)
    return text, hint


async def add_rule(ctx: Context, text: str, *, hint: str = "", actor: str) -> InstanceRule:
    """A new rule, listed after the others."""
    text, hint = _checked(text, hint)
    async with ctx.db.transaction() as session:
        rule = await instance_rules.add_rule(session, text, hint)
        await add_audit_entry(
            session, actor=actor, action="rule.add", target=str(rule.id), details={"text": text, "hint": hint}
        )
    return rule


async def remove_rule(ctx: Context, rule_id: int, *, actor: str) -> InstanceRule:
    """Take a rule out of force (reports citing it keep it)."""
    async with ctx.db.transaction() as session:
        rule = await instance_rules.remove_rule(session, rule_id)
        if rule is None:
            raise ModerationError(f"no rule {rule_id} in force")
        await add_audit_entry(
            session, actor=actor, action="rule.remove", target=str(rule.id), details={"text": rule.text}
        )
    return rule


async def edit_rule(ctx: Context, rule_id: int, text: str, *, hint: str = "", actor: str) -> InstanceRule:
    """Reword a rule in force (as Mastodon, in place: reports citing it cite the new words; the audit entry
    keeps the old ones)."""
    text, hint = _checked(text, hint)
    async with ctx.db.transaction() as session:
        rule = await instance_rules.rule_in_force(session, rule_id)
        if rule is None:
            raise NothingToUndo(f"no rule {rule_id} in force")
        before = {"text": rule.text, "hint": rule.hint}
        rule.text, rule.hint = text, hint
        await add_audit_entry(
            session,
            actor=actor,
            action="rule.edit",
            target=str(rule.id),
            details={"before": before, "text": text, "hint": hint},
        )
    return rule


async def move_rule(ctx: Context, rule_id: int, *, up: bool, actor: str) -> InstanceRule:
    """Move a rule in force one place up or down the list."""
    async with ctx.db.transaction() as session:
        rule = await instance_rules.move_rule(session, rule_id, up=up)
        if rule is None:
            raise NothingToUndo(f"no rule {rule_id} in force")
        await add_audit_entry(
            session,
            actor=actor,
            action="rule.move",
            target=str(rule.id),
            details={"direction": "up" if up else "down", "position": rule.position},
        )
    return rule
