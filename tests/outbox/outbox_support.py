"""Helpers for outbox tests: read back the jobs and activities an action wrote."""

from __future__ import annotations

from sqlalchemy import select

from storage.context import Context
from storage.models import Activity, Job


async def delivery_jobs(ctx: Context) -> list[Job]:
    async with ctx.db.read() as session:
        return list(
            (await session.execute(select(Job).where(Job.queue == "deliver").order_by(Job.id))).scalars()
        )


async def activities(ctx: Context, activity_type: str | None = None) -> list[Activity]:
    async with ctx.db.read() as session:
        statement = select(Activity).order_by(Activity.id)
        if activity_type:
            statement = statement.where(Activity.activity_type == activity_type)
        return list((await session.execute(statement)).scalars())
