"""The server's rules: listed to users in their order, cited by reports by id. A removed rule keeps its row
(marked removed) so that the reports citing it still say what was broken."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InstanceRule
from storage.types import utcnow


async def current_rules(session: AsyncSession) -> list[InstanceRule]:
    """The rules in force, in their order."""
    statement = (
        select(InstanceRule)
        .where(InstanceRule.removed_at.is_(None))
        .order_by(InstanceRule.position, InstanceRule.id)
    )
    return list((await session.execute(statement)).scalars())


async def add_rule(session: AsyncSession, text: str, hint: str = "") -> InstanceRule:
    """A new rule after the others."""
    last = (await session.execute(select(func.max(InstanceRule.position)))).scalar_one_or_none()
    rule = InstanceRule(text=text, hint=hint, position=(last or 0) + 1)
    session.add(rule)
    await session.flush()
    return rule


async def remove_rule(session: AsyncSession, rule_id: int) -> InstanceRule | None:
    """Take a rule out of force; None when no such rule is in force."""
    rule = await rule_in_force(session, rule_id)
    if rule is not None:
        rule.removed_at = utcnow()
    return rule


async def rule_in_force(session: AsyncSession, rule_id: int) -> InstanceRule | None:
    """The rule `rule_id` when it is in force, else None."""
    rule = await session.get(InstanceRule, rule_id)
    return rule if rule is not None and rule.removed_at is None else None


async def move_rule(session: AsyncSession, rule_id: int, *, up: bool) -> InstanceRule | None:
    """Swap a rule in force with the one before it (`up`) or after it (at the top or bottom already it stays
    put); None when no such rule is in force."""
    rules = await current_rules(session)
    index = next((i for i, rule in enumerate(rules) if rule.id == rule_id), None)
    if index is None:
        return None
    moved = rules[index]
    other = index - 1 if up else index + 1
    if 0 <= other < len(rules):
        rules[index], rules[other] = rules[other], moved
        # Numbered afresh in their new order: rows may share a position.
        for position, rule in enumerate(rules, start=1):
            rule.position = position
        await session.flush()
    return moved


async def unknown_rule_ids(session: AsyncSession, rule_ids: list[int]) -> list[int]:
    """Which of `rule_ids` name no rule in force (a report may cite only those)."""
    if not rule_ids:
        return []
    statement = select(InstanceRule.id).where(
        InstanceRule.id.in_(rule_ids), InstanceRule.removed_at.is_(None)
    )
    known = set((await session.execute(statement)).scalars())
    return [rule_id for rule_id in rule_ids if rule_id not in known]
