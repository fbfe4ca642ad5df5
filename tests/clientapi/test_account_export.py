"""`plein account export`: one account's data for a data-subject request, on both backends — its statuses and
boosts as ActivityStreams (a deleted one left out), the attached images, Mastodon's CSV exports (follows,
blocks, mutes, domain blocks, bookmarks, lists) plus followers, and personal_data.json (login, authorised
apps, failed logins, reports filed) — and never a secret: no password hash, token, token hash or key."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path

from checked import call
from PIL import Image
from sqlalchemy import select

from archive.account_export import export_account
from plein.config import settings_to_toml
from storage.models import LoginAttempt, OAuthToken, User
from support.instance import PLEIN_BIN, make_settings, serve_in_process
from support.oauth import bearer, make_token


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_an_account_export_holds_its_data_and_no_secret(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path / "data", database_url=database_url)
    async with serve_in_process(settings) as instance:
        ctx = instance.ctx
        assert ctx is not None
        tokens = {name: await make_token(ctx, name) for name in ("alice", "bob", "carol", "dave")}
        ids = {}
        async with instance.client(headers=bearer(tokens["bob"])) as b:
            bobs = await call(b, "POST", "/api/v1/statuses", data={"status": "bob speaks"})
            ids["bob"] = (await call(b, "GET", "/api/v1/accounts/verify_credentials"))["id"]
        for name in ("carol", "dave"):
            async with instance.client(headers=bearer(tokens[name])) as other:
                ids[name] = (await call(other, "GET", "/api/v1/accounts/verify_credentials"))["id"]
        async with instance.client(headers=bearer(tokens["alice"])) as a:
            media = await call(a, "POST", "/api/v2/media", files={"file": ("p.png", _png(), "image/png")})
            await call(
                a, "POST", "/api/v1/statuses", data={"status": "with a picture", "media_ids[]": media["id"]}
            )
            gone = await call(a, "POST", "/api/v1/statuses", data={"status": "regretted"})
            await call(a, "DELETE", f"/api/v1/statuses/{gone['id']}")
            await call(a, "POST", f"/api/v1/statuses/{bobs['id']}/reblog")
            await call(a, "POST", f"/api/v1/statuses/{bobs['id']}/bookmark")
            await call(a, "POST", f"/api/v1/accounts/{ids['bob']}/follow")
            await call(a, "POST", f"/api/v1/accounts/{ids['carol']}/block")
            await call(a, "POST", f"/api/v1/accounts/{ids['dave']}/mute", data={"notifications": "false"})
            await call(a, "POST", "/api/v1/domain_blocks", data={"domain": "spam.example"})
            team = await call(a, "POST", "/api/v1/lists", data={"title": "Team"})
            await call(a, "POST", f"/api/v1/lists/{team['id']}/accounts", data={"account_ids[]": ids["bob"]})
            await call(
                a, "POST", "/api/v1/reports", data={"account_id": ids["dave"], "comment": "spam again"}
            )
        async with instance.client(headers=bearer(tokens["bob"])) as b:
            await call(
                b,
                "POST",
                "/api/v1/accounts/{}/follow".format(
                    (await call(b, "GET", "/api/v1/accounts/lookup", params={"acct": "alice"}))["id"]
                ),
            )
        async with ctx.db.transaction() as session:
            session.add(LoginAttempt(key="login:alice"))
        out = tmp_path / "alice.zip"
        summary = await export_account(ctx, "alice", out)
        async with ctx.db.read() as session:
            secrets = [
                *(await session.execute(select(User.password_hash))).scalars(),
                *(await session.execute(select(OAuthToken.token_hash))).scalars(),
                *tokens.values(),
            ]

    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        read = {name: archive.read(name) for name in names}
    assert summary.statuses == 2 and summary.media_files == 1
    outbox = json.loads(read["outbox.json"])
    kinds = [
        (item["type"], item["object"]["content"] if item["type"] == "Create" else item["object"])
        for item in outbox["orderedItems"]
    ]
    assert kinds == [("Create", "<p>with a picture</p>"), ("Announce", bobs["uri"])]
    assert json.loads(read["actor.json"])["preferredUsername"] == "alice"
    [image] = [name for name in names if name.startswith("media/")]
    assert read[image].startswith(b"\x89PNG") or read[image][:3] == b"\xff\xd8\xff"
    host = settings.domain
    assert read["following_accounts.csv"].decode().splitlines() == [
        "Account address,Show boosts,Notify on new posts,Languages",
        f"bob@{host},true,false,",
    ]
    assert read["followers.csv"].decode().splitlines() == ["Account address", f"bob@{host}"]
    assert read["blocked_accounts.csv"].decode() == f"carol@{host}\n"
    assert read["muted_accounts.csv"].decode().splitlines()[1] == f"dave@{host},false"
    assert read["blocked_domains.csv"].decode() == "spam.example\n"
    assert read["bookmarks.csv"].decode() == f"{bobs['uri']}\n"
    assert read["lists.csv"].decode() == f"Team,bob@{host}\n"
    personal = json.loads(read["personal_data.json"])
    assert personal["account"]["username"] == "alice" and personal["login"]["role"] == "user"
    assert personal["authorised_apps"] and personal["authorised_apps"][0]["app"] == "Test tokens"
    assert len(personal["failed_logins"]) == 1
    assert [report["comment"] for report in personal["reports_filed"]] == ["spam again"]
    everything = b"".join(read.values())
    for secret in secrets:
        assert secret.encode() not in everything
    assert b"PRIVATE KEY" not in everything


async def test_the_cli_writes_the_export_and_refuses_an_unknown_account(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    config = tmp_path / "plein.toml"
    config.write_text(settings_to_toml(settings))
    async with serve_in_process(settings) as instance:
        assert instance.ctx is not None
        await make_token(instance.ctx, "alice")

    def plein(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PLEIN_BIN), "--config", str(config), *args], capture_output=True, text=True
        )

    done = plein("account", "export", "alice", "--out", str(tmp_path / "a.zip"))
    assert done.returncode == 0 and "0 statuses" in done.stdout
    assert zipfile.is_zipfile(tmp_path / "a.zip")
    missing = plein("account", "export", "nobody", "--out", str(tmp_path / "n.zip"))
    assert missing.returncode == 2 and "nobody" in missing.stderr and not (tmp_path / "n.zip").exists()
