"""Accounts moving between servers, with three real `plein serve` processes: an agency's account on server
OLD moves to a new account on server NEW (which first names it as an alias with `plein account alias`);
`plein account move` tells its followers, and both the follower on a third server and the local follower on
OLD end up following the new account. Then Mastodon-format CSV exports are imported into the new account
(follows, blocks, mutes, domain blocks), an unknown address reported, the rest applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from test_federation_processes import eventually

from storage.context import Context
from storage.db import Database
from support.instance import PleinProcess, make_settings
from support.oauth import bearer, make_token


def _process(folder: Path) -> PleinProcess:
    folder.mkdir(parents=True)
    return PleinProcess(make_settings(folder / "data"), folder)


def _host(process: PleinProcess) -> str:
    return process.base_url.removeprefix("http://")


async def _follow_remote(
    http: httpx.AsyncClient, server: PleinProcess, token: dict[str, str], address: str
) -> None:
    found = await http.get(
        f"{server.base_url}/api/v2/search", params={"q": address, "resolve": "true"}, headers=token
    )
    [account] = found.json()["accounts"]
    followed = await http.post(f"{server.base_url}/api/v1/accounts/{account['id']}/follow", headers=token)
    assert followed.status_code == 200, followed.text


async def _followers(http: httpx.AsyncClient, server: PleinProcess, token: dict[str, str]) -> set[str]:
    me = (await http.get(f"{server.base_url}/api/v1/accounts/verify_credentials", headers=token)).json()
    listed = await http.get(f"{server.base_url}/api/v1/accounts/{me['id']}/followers", headers=token)
    return {account["acct"] for account in listed.json()}


async def test_an_account_moves_with_its_followers_then_imports_its_lists(tmp_path: Path) -> None:
    old, new, third = (_process(tmp_path / name) for name in ("old", "new", "third"))
    contexts: list[Context] = []
    try:
        for server in (old, new, third):
            await server.start()
            contexts.append(Context(settings=server.settings, db=Database(server.settings.database_url)))
        ctx_old, ctx_new, ctx_third = contexts
        agency = bearer(await make_token(ctx_old, "ministry"))
        local_fan = bearer(await make_token(ctx_old, "colleague"))
        remote_fan = bearer(await make_token(ctx_third, "citizen"))
        moved_in = bearer(await make_token(ctx_new, "ministry"))
        async with httpx.AsyncClient(timeout=30) as http:
            await _follow_remote(http, old, local_fan, "ministry")
            await _follow_remote(http, third, remote_fan, f"ministry@{_host(old)}")
            await eventually(
                lambda: _has(http, old, agency, {"colleague", f"citizen@{_host(third)}"}),
                what="both followers on OLD",
            )

            aliased = new.cli("account", "alias", "ministry", f"ministry@{_host(old)}")
            assert aliased.returncode == 0, aliased.stderr
            refused = old.cli("account", "move", "ministry", f"nobody@{_host(new)}", check=False)
            assert refused.returncode == 2 and "nobody" in refused.stderr
            moved = old.cli("account", "move", "ministry", f"ministry@{_host(new)}")
            assert moved.returncode == 0, moved.stderr

            await eventually(
                lambda: _has(http, new, moved_in, {f"colleague@{_host(old)}", f"citizen@{_host(third)}"}),
                what="the followers on OLD and on the third server follow the new account",
            )
            actor = await http.get(
                f"{old.base_url}/users/ministry", headers={"Accept": "application/activity+json"}
            )
            assert actor.json()["movedTo"].startswith(new.base_url)

            # The old server's exports, imported on NEW.
            exports = tmp_path / "exports"
            exports.mkdir()
            (exports / "following_accounts.csv").write_text(
                "Account address,Show boosts,Notify on new posts,Languages\n"
                f"citizen@{_host(third)},false,true,\nghost@{_host(third)},true,false,\n"
            )
            (exports / "blocked_accounts.csv").write_text(f"colleague@{_host(old)}\n")
            (exports / "muted_accounts.csv").write_text(
                f"Account address,Hide notifications\nciviel@{_host(old)},false\n"
            )
            (exports / "blocked_domains.csv").write_text("spam.example\n")
            await make_token(ctx_old, "civiel")
            imported = new.cli(
                "account",
                "import",
                "ministry",
                "--following",
                str(exports / "following_accounts.csv"),
                "--blocks",
                str(exports / "blocked_accounts.csv"),
                "--mutes",
                str(exports / "muted_accounts.csv"),
                "--domain-blocks",
                str(exports / "blocked_domains.csv"),
            )
            assert imported.returncode == 0, imported.stderr
            assert (
                "following: 1 imported, 1 failed" in imported.stdout
                and f"ghost@{_host(third)}" in imported.stdout
            )
            assert "blocks: 1 imported" in imported.stdout and "mutes: 1 imported" in imported.stdout
            domains = await http.get(f"{new.base_url}/api/v1/domain_blocks", headers=moved_in)
            assert domains.json() == ["spam.example"]
            blocks = await http.get(f"{new.base_url}/api/v1/blocks", headers=moved_in)
            assert [a["acct"] for a in blocks.json()] == [f"colleague@{_host(old)}"]
            mutes = await http.get(f"{new.base_url}/api/v1/mutes", headers=moved_in)
            assert [a["acct"] for a in mutes.json()] == [f"civiel@{_host(old)}"]
            # The blocked colleague no longer follows the new account; the citizen is followed back.
            assert f"colleague@{_host(old)}" not in await _followers(http, new, moved_in)
            relationship = await _relationship(http, new, moved_in, f"citizen@{_host(third)}")
            assert relationship["following"] or relationship["requested"]
    finally:
        for server in (old, new, third):
            server.stop()
        for ctx in contexts:
            await ctx.db.dispose()


async def _has(
    http: httpx.AsyncClient, server: PleinProcess, token: dict[str, str], wanted: set[str]
) -> bool:
    return wanted <= await _followers(http, server, token)


async def _relationship(
    http: httpx.AsyncClient, server: PleinProcess, token: dict[str, str], address: str
) -> dict[str, Any]:
    found = await http.get(
        f"{server.base_url}/api/v1/accounts/lookup", params={"acct": address}, headers=token
    )
    listed = await http.get(
        f"{server.base_url}/api/v1/accounts/relationships", params={"id[]": found.json()["id"]}, headers=token
    )
    return listed.json()[0]  # type: ignore[no-any-return]
