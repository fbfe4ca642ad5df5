"""Two domains on one install: one `plein serve` process on ONE port answers for http://127.0.23.1:18500 (the
primary, `[instance]`) and http://127.0.23.2:18500 (a `[[domains]]` entry), chosen by the request's Host.

Each domain finds only its own accounts, keeps its own OAuth tokens and instance description, and the two
federate with each other through the normal path (WebFinger, signed Follow, Accept, signed delivery); a Host
that is neither gets 421. On SQLite (a database file per domain) and on PostgreSQL (a schema per domain).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import InvalidStatus, WebSocketException

from plein.tenants import schema_for
from support.databases import postgres_database
from support.instance import PleinProcess, make_settings

PORT = 18500
A = f"127.0.23.1:{PORT}"
B = f"127.0.23.2:{PORT}"
PASSWORD = "correct horse battery staple 42"


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield ""
        return
    async with postgres_database() as url:  # dropped afterwards, with both domains' schemas
        yield url


def _two_domain_process(folder: Path, database_url: str) -> PleinProcess:
    settings = make_settings(
        folder / "data",
        port=PORT,
        database_url=database_url,
        **{
            "instance.domain": A,
            "instance.base_url": f"http://{A}",
            "server.listen_host": "127.0.23.1",
            "server.extra_listen_hosts": ["127.0.23.2"],
            "federation.allow_private_addresses": ["127.0.23.0/24"],
            "instance.name": "Agency A",
            "oauth.password_grant": True,
        },
    )
    process = PleinProcess(settings, folder)
    with process.config_path.open("a") as config:
        config.write(
            f'\n[[domains]]\ndomain = "{B}"\nbase_url = "http://{B}"\nname = "Agency B"\n'
            'default_language = "en"\n[domains.registration]\nmode = "open"\n'
        )
    return process


async def _token(client: httpx.AsyncClient, host: str, username: str) -> str:
    app = (
        await client.post(
            f"http://{host}/api/v1/apps",
            json={
                "client_name": "t",
                "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                "scopes": "read write follow",
            },
        )
    ).json()
    response = await client.post(
        f"http://{host}/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": username,
            "password": PASSWORD,
            "scope": "read write follow",
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _stream_url(host: str, authorization: dict[str, str]) -> str:
    token = authorization["Authorization"].removeprefix("Bearer ")
    return f"ws://{host}/api/v1/streaming?stream=user&access_token={token}"


async def _eventually(check: Callable[[], Awaitable[Any]], process: PleinProcess) -> Any:
    """Polls `check` until it returns something true (the in-process workers deliver in the background)."""
    for _ in range(300):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened; server log:\n{process.log()}")


async def test_two_domains_on_one_port_are_separate_instances_that_federate(
    tmp_path: Path, database_url: str
) -> None:
    process = _two_domain_process(tmp_path, database_url)
    created = process.cli("account", "create", "alice", "--password", PASSWORD)
    assert "alice" in created.stdout
    process.cli("--domain", B, "account", "create", "bob", "--password", PASSWORD)
    try:
        await process.start()
        async with httpx.AsyncClient(timeout=30) as client:
            # WebFinger: each host knows its own accounts only.
            def finger(host: str, acct: str) -> Awaitable[httpx.Response]:
                return client.get(f"http://{host}/.well-known/webfinger", params={"resource": f"acct:{acct}"})

            assert (await finger(A, f"alice@{A}")).status_code == 200
            assert (await finger(B, f"bob@{B}")).status_code == 200
            assert (await finger(B, f"alice@{A}")).status_code == 404
            assert (await finger(B, f"alice@{B}")).status_code == 404
            assert (await finger(A, f"bob@{A}")).status_code == 404
            assert (await client.get(f"http://{B}/users/alice")).status_code == 404
            assert (
                await client.get(f"http://{B}/api/v1/accounts/lookup", params={"acct": "alice"})
            ).status_code == 404

            # Each Host describes its own instance.
            instance_a = (await client.get(f"http://{A}/api/v2/instance")).json()
            instance_b = (await client.get(f"http://{B}/api/v2/instance")).json()
            assert (instance_a["domain"], instance_a["title"]) == (A, "Agency A")
            assert (instance_b["domain"], instance_b["title"]) == (B, "Agency B")
            assert instance_a["registrations"]["enabled"] is False
            assert instance_b["registrations"]["enabled"] is True

            # A token of A means nothing on B.
            alice = {"Authorization": f"Bearer {await _token(client, A, 'alice')}"}
            bob = {"Authorization": f"Bearer {await _token(client, B, 'bob')}"}
            assert (
                await client.get(f"http://{A}/api/v1/accounts/verify_credentials", headers=alice)
            ).status_code == 200
            refused = await client.get(f"http://{B}/api/v1/accounts/verify_credentials", headers=alice)
            assert refused.status_code == 401
            assert "error" in refused.json()

            # bob on B follows alice on A through the normal path: resolve, signed Follow, Accept.
            found = await client.get(
                f"http://{B}/api/v2/search",
                params={"q": f"alice@{A}", "resolve": "true", "type": "accounts"},
                headers=bob,
            )
            (remote_alice,) = found.json()["accounts"]
            assert remote_alice["acct"] == f"alice@{A}"
            follow = await client.post(f"http://{B}/api/v1/accounts/{remote_alice['id']}/follow", headers=bob)
            assert follow.status_code == 200, follow.text

            async def accepted() -> bool:
                relationships = await client.get(
                    f"http://{B}/api/v1/accounts/relationships",
                    params={"id[]": remote_alice["id"]},
                    headers=bob,
                )
                return bool(relationships.json()[0]["following"])

            await _eventually(accepted, process)
            followers = await client.get(
                f"http://{A}/users/alice/followers", headers={"Accept": "application/activity+json"}
            )
            assert followers.json()["totalItems"] == 1

            # Streaming goes through the Host router too: A's token opens no stream on B, and bob's user
            # stream on B hears alice's post once it is delivered from A.
            with pytest.raises(WebSocketException):
                async with websocket_connect(_stream_url(B, alice)) as refused_stream:
                    await asyncio.wait_for(refused_stream.recv(), 10)
            async with websocket_connect(_stream_url(B, bob)) as bob_stream:
                # alice posts on A; bob's home timeline and stream on B get it by delivery.
                posted = await client.post(
                    f"http://{A}/api/v1/statuses", json={"status": "news from agency A"}, headers=alice
                )
                assert posted.status_code == 200, posted.text
                event = json.loads(await asyncio.wait_for(bob_stream.recv(), 30))
            assert (event["event"], event["stream"]) == ("update", ["user"])
            assert json.loads(event["payload"])["uri"] == posted.json()["uri"]

            async def delivered() -> list[Any]:
                home = await client.get(f"http://{B}/api/v1/timelines/home", headers=bob)
                return [status for status in home.json() if "news from agency A" in status["content"]]

            (status,) = await _eventually(delivered, process)
            assert status["account"]["acct"] == f"alice@{A}"
            assert status["uri"] == posted.json()["uri"]

            # A Host this server does not serve, over HTTP and WebSocket.
            misdirected = await client.get(
                f"http://{A}/api/v2/instance", headers={"Host": "elsewhere.example"}
            )
            assert misdirected.status_code == 421
            assert "error" in misdirected.json()
            with pytest.raises(InvalidStatus) as not_here:
                # The URL names a host this server does not serve; the connection goes to A's address.
                async with websocket_connect(
                    _stream_url("elsewhere.example", bob), host="127.0.23.1", port=PORT
                ):
                    pass
            assert not_here.value.response.status_code == 421
    finally:
        process.stop()
    assert "not a domain of this server" in process.log()

    if database_url:  # PostgreSQL: B's rows live in B's own schema, A's in the default one
        connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            schema = schema_for(B)
            in_b = await connection.fetchval(
                f'SELECT count(*) FROM "{schema}".accounts WHERE username = $1', "bob"
            )
            bob_in_a = await connection.fetchval(
                "SELECT count(*) FROM public.accounts WHERE username = 'bob'"
            )
            alice_local_in_a = await connection.fetchval(
                "SELECT count(*) FROM public.accounts WHERE username = 'alice' AND domain IS NULL"
            )
        finally:
            await connection.close()
        assert (in_b, alice_local_in_a) == (1, 1)
        assert bob_in_a == 1  # as a remote account, fetched when bob's Follow arrived
    else:
        assert (tmp_path / "data" / "domains" / "127.0.23.2_18500" / "plein.db").is_file()
