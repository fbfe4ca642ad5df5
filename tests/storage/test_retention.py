"""Retention, on both backends: the hourly maintenance job deletes failed-login records (client addresses)
older than `privacy.security_log_days` and Idempotency-Key records older than a day, keeps the recent ones,
and schedules its own next run; starting workers schedules one run per hour however many processes start."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from storage.accounts import create_local_account
from storage.db import Database
from storage.models import IdempotencyKey, Job, LoginAttempt, Status
from storage.queue import claim
from storage.recovery import start_beating
from storage.retention import MAINTENANCE_QUEUE, maintenance_handler
from storage.types import utcnow
from storage.urls import LocalUrls


async def _pending_maintenance(db: Database) -> list[Job]:
    async with db.read() as session:
        rows = await session.execute(
            select(Job).where(Job.queue == MAINTENANCE_QUEUE, Job.state == "pending")
        )
        return list(rows.scalars())


async def test_old_security_records_go_and_the_next_run_is_scheduled(db: Database, tmp_path: Path) -> None:
    now = utcnow()
    async with db.transaction() as session:
        alice = await create_local_account(
            session, LocalUrls("https://example.test"), username="alice", password_hash="x"
        )
        status = Status(uri="https://example.test/s/1", account_id=alice.id, local=True)
        session.add(status)
        await session.flush()
        session.add_all(
            [
                LoginAttempt(key="addr:192.0.2.1", created_at=now - timedelta(days=15)),
                LoginAttempt(key="addr:192.0.2.2", created_at=now - timedelta(days=3)),
                IdempotencyKey(
                    account_id=alice.id, key="old", status_id=status.id, created_at=now - timedelta(days=2)
                ),
                IdempotencyKey(account_id=alice.id, key="new", status_id=status.id, created_at=now),
            ]
        )
    await start_beating(db, "test-host:1")
    await start_beating(db, "test-host:2")  # a second process starting in the same hour adds no second run
    [scheduled] = await _pending_maintenance(db)
    [job] = await claim(db, MAINTENANCE_QUEUE, worker_id="test-host:1", limit=5)
    await maintenance_handler(db, security_log_days=14, data_dir=tmp_path, deleted_media_days=30)(job)

    async with db.read() as session:
        addresses = set((await session.execute(select(LoginAttempt.key))).scalars())
        keys = set((await session.execute(select(IdempotencyKey.key))).scalars())
    assert addresses == {"addr:192.0.2.2"} and keys == {"new"}
    [following] = [j for j in await _pending_maintenance(db) if j.id != scheduled.id]
    assert timedelta(minutes=59) < following.next_try_at - utcnow() <= timedelta(hours=1)

    # A shorter retention takes the three-day-old record too.
    async with db.transaction() as session:
        await session.execute(update(Job).where(Job.id == following.id).values(next_try_at=utcnow()))
    [job] = await claim(db, MAINTENANCE_QUEUE, worker_id="test-host:1", limit=5)
    await maintenance_handler(db, security_log_days=2, data_dir=tmp_path, deleted_media_days=30)(job)
    async with db.read() as session:
        assert list((await session.execute(select(LoginAttempt.key))).scalars()) == []
