"""The client address login throttling counts: the TCP peer, unless `server.trusted_proxies` names it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from plein.config import ConfigError
from plein.proxies import client_address, trusted_networks
from storage.models import LoginAttempt
from support.databases import sqlite_url
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import OOB, form_fields, make_user, register_app

PASSWORD = "correct horse battery staple"


@asynccontextmanager
async def _instance(tmp_path: Path, trusted_proxies: list[str]) -> AsyncIterator[RunningInstance]:
    settings = make_settings(
        tmp_path, database_url=sqlite_url(str(tmp_path)), **{"server.trusted_proxies": trusted_proxies}
    )
    async with serve_in_process(settings) as running:
        assert running.ctx is not None
        await make_user(running.ctx, "alice", PASSWORD)
        yield running


async def _login(
    client: httpx.AsyncClient, fields: dict[str, str], login: str, password: str, *forwarded_for: str
) -> int:
    answer = await client.post(
        "/oauth/authorize",
        data={**fields, "username": login, "password": password, "decision": "approve"},
        headers=[("X-Forwarded-For", line) for line in forwarded_for],
    )
    return answer.status_code


async def _consent_fields(client: httpx.AsyncClient) -> dict[str, str]:
    app = await register_app(client)
    page = await client.get("/oauth/authorize", params={"client_id": app.client_id, "redirect_uri": OOB})
    return form_fields(page.text)


async def _counted_addresses(running: RunningInstance) -> set[str]:
    assert running.ctx is not None
    async with running.ctx.db.read() as session:
        keys = (await session.execute(select(LoginAttempt.key))).scalars()
    return {key.removeprefix("address:") for key in keys if key.startswith("address:")}


async def test_a_spoofed_forwarded_for_does_not_escape_the_address_limit(tmp_path: Path) -> None:
    async with _instance(tmp_path, []) as running, running.client() as client:
        fields = await _consent_fields(client)
        failures = [
            await _login(client, fields, f"nobody{attempt}", "wrong", f"203.0.113.{attempt}")
            for attempt in range(20)
        ]
        last = await _login(client, fields, "alice", PASSWORD, "198.51.100.200")
        counted = await _counted_addresses(running)
    assert failures == [422] * 20
    assert last == 429  # twenty failures from one peer, whatever each request claimed to forward for
    assert counted == {"127.0.0.1"}


async def test_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    async with _instance(tmp_path, ["127.0.0.1/32"]) as running, running.client() as client:
        fields = await _consent_fields(client)
        # The client wrote the left entry itself; the proxy appended the address it saw.
        first = await _login(client, fields, "nobody", "wrong", "6.6.6.6, 198.51.100.7")
        # Two header lines are one list: the client's own line first, the proxy's last.
        second = await _login(client, fields, "nobody", "wrong", "6.6.6.6", "198.51.100.9")
        third = await _login(client, fields, "alice", PASSWORD, "198.51.100.8")
        counted = await _counted_addresses(running)
    assert (first, second, third) == (422, 422, 200)
    assert counted == {"198.51.100.7", "198.51.100.9"}


def test_client_address_walks_forwarded_for_from_the_right() -> None:
    proxies = trusted_networks(["127.0.0.1/32", "10.0.0.0/8"])
    assert client_address("127.0.0.1", "198.51.100.7, 10.0.0.2", proxies) == "198.51.100.7"
    assert client_address("127.0.0.1", "1.1.1.1, 198.51.100.7, 10.0.0.2", proxies) == "198.51.100.7"
    assert client_address("127.0.0.1", "2001:db8::1", proxies) == "2001:db8::1"
    assert client_address("127.0.0.1", "garbage", proxies) == "127.0.0.1"
    assert client_address("127.0.0.1", "", proxies) == "127.0.0.1"
    assert client_address("192.0.2.1", "198.51.100.7", proxies) == "192.0.2.1"  # not a trusted peer
    assert client_address("127.0.0.1", "198.51.100.7", trusted_networks([])) == "127.0.0.1"


def test_trusted_proxies_must_be_cidrs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="server.trusted_proxies"):
        make_settings(tmp_path, **{"server.trusted_proxies": ["not-a-network"]})


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize(("trusted", "logged"), [([], "127.0.0.1"), (["127.0.0.1/32"], "198.51.100.7")])
async def test_the_access_log_shows_the_same_address(tmp_path: Path, trusted: list[str], logged: str) -> None:
    access_log = logging.getLogger("uvicorn.access")
    records = _Records()
    async with _instance(tmp_path, trusted) as running, running.client() as client:
        level = access_log.level
        access_log.setLevel(logging.INFO)
        access_log.addHandler(records)
        try:
            await client.get("/api/v1/instance", headers={"X-Forwarded-For": "198.51.100.7"})
        finally:
            access_log.removeHandler(records)
            access_log.setLevel(level)
    assert [str(record.args[0]).rpartition(":")[0] for record in records.records] == [logged]  # type: ignore[index]
