"""Helpers for multi-instance tests: local accounts, resolving remote ones, draining every queue of every
instance until the whole little network is quiet."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select

from plein.jobs import job_handlers
from storage.accounts import create_local_account
from storage.context import Context
from storage.models import Account, Job, Notification, Status
from storage.statuses import status_by_uri
from storage.urls import LocalUrls
from storage.worker import drain
from support.instance import RunningInstance
from webfinger.resolve import resolve_acct


class Instance:
    """One running instance seen from a test."""

    def __init__(self, running: RunningInstance) -> None:
        assert running.ctx is not None
        self.running = running
        self.ctx: Context = running.ctx
        self.domain = urlsplit(running.base_url).netloc

    async def local(self, username: str, *, locked: bool = False) -> Account:
        async with self.ctx.db.transaction() as session:
            account = await create_local_account(
                session, LocalUrls(self.ctx.base_url), username=username, password_hash="x"
            )
            account.locked = locked
        return account

    async def resolve(self, account: Account, owner: Instance) -> Account:
        """This instance's copy of `owner`'s local `account`, discovered through WebFinger."""
        return await resolve_acct(self.ctx, f"{account.username}@{owner.domain}", scheme="http")

    async def status(self, uri: str) -> Status | None:
        async with self.ctx.db.read() as session:
            return await status_by_uri(session, uri)

    async def account(self, uri: str) -> Account | None:
        async with self.ctx.db.read() as session:
            return (await session.execute(select(Account).where(Account.uri == uri))).scalar_one_or_none()

    async def count(self, model: type, *conditions: Any) -> int:
        async with self.ctx.db.read() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)

    async def notifications(self, account: Account, kind: str) -> list[Notification]:
        async with self.ctx.db.read() as session:
            statement = select(Notification).where(
                Notification.account_id == account.id, Notification.notification_type == kind
            )
            return list((await session.execute(statement)).scalars())


async def settle(*instances: Instance, max_rounds: int = 50) -> None:
    """Run every due job on every instance until none of them has work left (no sleeping)."""
    for _ in range(max_rounds):
        ran = 0
        for instance in instances:
            ran += await drain(instance.ctx.db, job_handlers(instance.ctx))
        if ran == 0:
            return
    raise AssertionError("the instances did not settle")


async def until(
    plein: Instance,
    check: Callable[[], Awaitable[Any]],
    *,
    what: str,
    timeout: float = 20.0,
    also: Sequence[Instance] = (),
) -> Any:
    """Run `plein`'s queues (and those of the instances `also`) and poll `check` until it holds, for peers
    that answer from their own process (Fedify, a relay); on timeout the error lists `plein`'s jobs."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for instance in (plein, *also):
            await drain(instance.ctx.db, job_handlers(instance.ctx))
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            async with plein.ctx.db.read() as session:
                jobs = [
                    (job.queue, job.state, job.last_status, job.last_error, job.payload)
                    for job in (await session.execute(select(Job))).scalars()
                ]
            raise AssertionError(f"never happened: {what}; jobs: {jobs}")
        await asyncio.sleep(0.05)
