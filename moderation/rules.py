"""The server's rules, changed by an admin: each change one transaction with its audit entry."""

from __future__ import annotations

from moderation.errors import ModerationError
from storage import instance_rules
from storage.audit import add_audit_entry
from storage.context import Context
from storage.models import InstanceRule

MAX_RULE_TEXT = 300  # Mastodon's limit on a rule's text
MAX_RULE_HINT = 2000


async def add_rule(ctx: Context, text: str, *, hint: str = "", actor: str) -> InstanceRule:
    """A new rule, listed after the others."""
    text, hint = text.strip(), hint.strip()
    if not text:
        raise ModerationError("a rule needs a text")
    if len(text) > MAX_RULE_TEXT or len(hint) > MAX_RULE_HINT:
        raise ModerationError(
            f"a rule's text is at most {MAX_RULE_TEXT} characters, its hint {MAX_RULE_HINT}"
        )
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
