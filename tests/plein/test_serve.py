"""`plein serve` as a newcomer runs it: a real process on a real port, SQLite in the data folder."""

from __future__ import annotations

from pathlib import Path

import httpx

from support.instance import PleinProcess, make_settings


async def test_serve_from_empty_data_folder(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    plein = PleinProcess(settings, tmp_path)
    await plein.start()
    try:
        assert "account create NAME --role admin" in plein.log()  # the first-admin hint
        created = plein.cli("account", "create", "alice", "--role", "admin")
        assert "password: " in created.stdout
        async with httpx.AsyncClient(base_url=plein.base_url) as client:
            actor = await client.get("/users/alice", headers={"Accept": "application/activity+json"})
            assert actor.status_code == 200 and actor.json()["id"] == f"{plein.base_url}/users/alice"
            finger = await client.get(
                "/.well-known/webfinger", params={"resource": f"acct:alice@{settings.domain}"}
            )
            self_links = [link for link in finger.json()["links"] if link["rel"] == "self"]
            assert self_links == [
                {"rel": "self", "type": "application/activity+json", "href": f"{plein.base_url}/users/alice"}
            ]
            page = await client.get("/users/alice", headers={"Accept": "text/html"}, follow_redirects=True)
            assert "h-card" in page.text
        assert (tmp_path / "data" / "plein.db").exists()
        wal_mode = (tmp_path / "data" / "plein.db-wal").exists() or (
            tmp_path / "data" / "plein.db-shm"
        ).exists()
        assert wal_mode
    finally:
        plein.stop()
