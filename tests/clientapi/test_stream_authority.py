"""Open streams end with their authority: a WebSocket and a server-sent-events stream on one token both close
within seconds after the token is revoked (`POST /oauth/revoke`), the password is changed or the account is
suspended (the real `plein` CLI, another process on the same database), while another user's stream lives on."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import websockets

from clientapi.stream_authority import token_watcher
from outbox.actions import post_status
from plein.config import settings_to_toml
from storage.accounts import local_account_by_username, user_for_account
from storage.oauth import create_app, create_token, token_owner
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import make_user

PLEIN_BIN = Path(sys.executable).parent / "plein"
CLOSE_WITHIN_SECONDS = 20.0  # a bound for a hung stream, far above the few seconds a close takes


@pytest.fixture
async def instance(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path, database_url=database_url)) as running:
        yield running


async def _token(instance: RunningInstance, username: str) -> tuple[str, str, str]:
    """(client_id, client_secret, access token) of a fresh app's token for `username`."""
    assert instance.ctx is not None
    account = await make_user(instance.ctx, username)
    async with instance.ctx.db.transaction() as session:
        user = await user_for_account(session, account.id)
        app, secret = await create_app(
            session, name="Reader", redirect_uris=["urn:ietf:wg:oauth:2.0:oob"], scopes="read", website=None
        )
        _, access_token = await create_token(session, app=app, user=user, scopes="read")
        return app.client_id, secret, access_token


async def _plein_cli(instance: RunningInstance, folder: Path, *args: str) -> None:
    """The real `plein` command against the instance's database, as an operator would run it."""
    config = folder / "cli.toml"
    config.write_text(settings_to_toml(instance.settings))
    env = {key: value for key, value in os.environ.items() if not key.startswith("PLEIN_")}
    child = await asyncio.create_subprocess_exec(
        str(PLEIN_BIN),
        "--config",
        str(config),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await child.communicate()
    assert child.returncode == 0, (stdout + stderr).decode()


async def _token_id(instance: RunningInstance, token: str) -> int:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        owner = await token_owner(session, token)
    assert owner is not None
    return owner.token.id


def _ws_url(instance: RunningInstance, token: str) -> str:
    return (
        instance.base_url.replace("http://", "ws://")
        + f"/api/v1/streaming?stream=public:local&access_token={token}"
    )


async def _sse_update(lines: AsyncIterator[str]) -> str:
    async for line in lines:
        if line.startswith("data: "):
            return line
    raise AssertionError("the stream ended")


async def _sse_end(lines: AsyncIterator[str]) -> None:
    async for _ in lines:
        pass


@pytest.mark.parametrize("cause", ["revoke", "password", "suspend"])
async def test_streams_close_when_their_authority_ends(
    instance: RunningInstance, tmp_path: Path, cause: str
) -> None:
    assert instance.ctx is not None
    client_id, client_secret, token = await _token(instance, "alice")
    _, _, bystander_token = await _token(instance, "bob")
    async with instance.ctx.db.read() as session:
        speaker = await local_account_by_username(session, "bob")
    assert speaker is not None
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(instance.client())
        sse = await stack.enter_async_context(
            client.stream(
                "GET", "/api/v1/streaming/public/local", headers={"Authorization": f"Bearer {token}"}
            )
        )
        assert sse.status_code == 200
        lines = sse.aiter_lines()
        assert await anext(lines) == ":)"
        socket = await stack.enter_async_context(websockets.connect(_ws_url(instance, token)))
        bystander = await stack.enter_async_context(websockets.connect(_ws_url(instance, bystander_token)))
        # Both streams are live: they deliver a post.
        await post_status(instance.ctx, speaker, text="before")
        assert "before" in json.loads(await asyncio.wait_for(socket.recv(), 10))["payload"]
        assert "before" in await asyncio.wait_for(_sse_update(lines), 10)
        assert "before" in json.loads(await asyncio.wait_for(bystander.recv(), 10))["payload"]

        if cause == "revoke":
            revoked = await client.post(
                "/oauth/revoke", data={"client_id": client_id, "client_secret": client_secret, "token": token}
            )
            assert revoked.status_code == 200
        else:
            await _plein_cli(
                instance,
                tmp_path,
                "account",
                cause,
                "alice",
                *(["--password", "a new passphrase here"] if cause == "password" else []),
            )

        await asyncio.wait_for(_sse_end(lines), CLOSE_WITHIN_SECONDS)
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            while True:  # whatever was already on its way, then the close
                await asyncio.wait_for(socket.recv(), CLOSE_WITHIN_SECONDS)
        assert socket.close_code == 4401
        # The API refuses the token too, and another user's stream lives on.
        refused = await client.get(
            "/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"}
        )
        assert refused.status_code in (401, 403)
        await post_status(instance.ctx, speaker, text="after")
        while "after" not in (message := json.loads(await asyncio.wait_for(bystander.recv(), 10)))["payload"]:
            pass
        assert message["event"] == "update"


async def test_a_token_streams_share_one_watch(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    _, _, token = await _token(instance, "alice")
    async with AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(websockets.connect(_ws_url(instance, token))) for _ in range(3)
        ]
        assert all(socket.close_code is None for socket in sockets)
        watcher = token_watcher(instance.ctx)
        assert watcher.open_streams(await _token_id(instance, token)) == 3
