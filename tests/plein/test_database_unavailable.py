"""A request that meets a transient database error answers 503 with Retry-After and a JSON error (remote
servers retry a 503 delivery; a 500 they may drop), and the server answers normally once the database is back.

The database here turns away every connection the way an overloaded PostgreSQL does: our role's connection
limit drops to 0 and its connections are ended, so new ones fail with SQLSTATE 53300 ("too many
connections"), as in the crisis benchmark of issue #17."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from support.databases import POSTGRES_DSN, postgres_database
from support.inbox_remote import FakeRemote, deliver, new_rsa_pem
from support.instance import RunningInstance, make_settings, serve_in_process


@pytest.fixture
async def role_and_instance(tmp_path: Path) -> AsyncIterator[tuple[str, RunningInstance]]:
    """An instance on a fresh PostgreSQL database that it reaches as a role of its own (so that role's
    connection limit can be changed), and the role's name."""
    role = f"plein_role_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(POSTGRES_DSN)
    await admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        async with postgres_database() as url:
            name = url.rsplit("/", 1)[1]
            await admin.execute(f'ALTER DATABASE "{name}" OWNER TO "{role}"')
            role_url = url.replace("://postgres@", f"://{role}@", 1)
            settings = make_settings(tmp_path, database_url=role_url)
            async with serve_in_process(settings) as instance:
                yield role, instance
            await admin.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT -1')
    finally:
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()


async def test_requests_meeting_too_many_connections_answer_503_then_recover(
    role_and_instance: tuple[str, RunningInstance], caplog: pytest.LogCaptureFixture
) -> None:
    role, instance = role_and_instance
    shared_inbox = f"{instance.base_url}/inbox"
    async with FakeRemote().running() as remote, instance.client() as client:
        sender = remote.add_actor("sender", new_rsa_pem())
        note = sender.activity("Create", sender.note())
        assert (await client.post("/users/nobody/inbox", content=b"{}")).status_code == 404
        admin = await asyncpg.connect(POSTGRES_DSN)
        try:
            await admin.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT 0')
            await admin.execute(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE usename = $1", role
            )
            with caplog.at_level(logging.WARNING, logger="plein.http"):
                # The first request meets a pooled connection that was ended, the next ones a refused
                # connect (53300): both are transient.
                responses = [
                    await client.post("/users/nobody/inbox", content=b"{}"),
                    await client.post("/users/nobody/inbox", content=b"{}"),
                    await deliver(client, shared_inbox, note, sender),
                    await client.get("/api/v1/timelines/public"),
                ]
            for response in responses:
                assert response.status_code == 503, (response.url, response.text)
                assert int(response.headers["Retry-After"]) > 0
                assert response.json()["error"]
            assert sum("answered 503" in record.getMessage() for record in caplog.records) == len(responses)
            await admin.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT -1')
        finally:
            await admin.close()
        # The sender tries again later, and this time the activity is taken.
        assert (await deliver(client, shared_inbox, note, sender)).status_code == 202
        assert (await client.post("/users/nobody/inbox", content=b"{}")).status_code == 404
