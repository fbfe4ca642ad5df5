"""A status in several languages (docs/MULTILINGUAL.md) through the real endpoints: written with
`status_map` / `spoiler_text_map`, read in each reader's language, refused when wrong, edited with its
history, and published as `contentMap` / `summaryMap`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from checked import call
from sqlalchemy import func, select

from archive.public_records import export_public_records, period_of
from storage.models import Status, StatusEdit, StatusVariant
from storage.types import utcnow
from support.instance import RunningInstance
from support.oauth import bearer, make_token

TRILINGUAL = {
    "status": "Goedemorgen #Plein",
    "language": "nl",
    "spoiler_text": "weer",
    "status_map[fy]": "Goeie moarn #Plein",
    "status_map[en]": "Good morning #Plein",
    "spoiler_text_map[en]": "weather",
}


async def _statuses_stored(instance: RunningInstance) -> tuple[int, int]:
    async with instance.ctx.db.read() as session:
        statuses = (await session.execute(select(func.count()).select_from(Status))).scalar_one()
        variants = (await session.execute(select(func.count()).select_from(StatusVariant))).scalar_one()
    return statuses, variants


async def test_trilingual_status_is_read_in_each_readers_language(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    async with instance.client(headers=alice) as author, instance.client(headers=bob) as frisian:
        posted = await call(author, "POST", "/api/v1/statuses", data=TRILINGUAL)
        assert posted["language"] == "nl" and "Goedemorgen" in posted["content"]
        assert posted["spoiler_text"] == "weer" and posted["plein_languages"] == ["nl", "en", "fy"]
        assert posted["tags"][0]["name"] == "plein"
        path = f"/api/v1/statuses/{posted['id']}"
        await call(frisian, "PATCH", "/api/v1/accounts/update_credentials", data={"source[language]": "fy"})
        # The account's setting comes before the browser's.
        seen = await call(frisian, "GET", path, headers={"Accept-Language": "en"})
        assert seen["language"] == "fy" and "Goeie moarn" in seen["content"] and seen["spoiler_text"] == ""
        timeline = await call(frisian, "GET", "/api/v1/timelines/public")
        assert timeline[0]["id"] == posted["id"] and timeline[0]["language"] == "fy"
    async with instance.client() as anonymous:
        english = await call(anonymous, "GET", path, headers={"Accept-Language": "de, en-GB;q=0.8"})
        assert english["language"] == "en" and "Good morning" in english["content"]
        assert english["spoiler_text"] == "weather"
        primary = await call(anonymous, "GET", path, headers={"Accept-Language": "de"})
        assert primary["language"] == "nl" and "Goedemorgen" in primary["content"]
        assert (await call(anonymous, "GET", path))["language"] == "nl"
        note = (await anonymous.get(posted["uri"], headers={"Accept": "application/activity+json"})).json()
    assert note["content"] == posted["content"]
    assert list(note["contentMap"]) == ["nl", "en", "fy"]
    assert "Goeie moarn" in note["contentMap"]["fy"] and "Good morning" in note["contentMap"]["en"]
    assert note["summaryMap"] == {"nl": "weer", "en": "weather"}


async def test_json_body_writes_variants_too(instance: RunningInstance) -> None:
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as author:
        posted = await call(
            author,
            "POST",
            "/api/v1/statuses",
            json={"status": "Dag", "language": "nl", "status_map": {"en": "Bye", "fy": "Oant sjen"}},
        )
        english = await call(
            author, "GET", f"/api/v1/statuses/{posted['id']}", headers={"Accept-Language": "en"}
        )
    assert english["content"] == "<p>Bye</p>" and english["plein_languages"] == ["nl", "en", "fy"]


async def test_iso_639_3_languages_are_written_and_listed(instance: RunningInstance) -> None:
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as author:
        posted = await call(
            author,
            "POST",
            "/api/v1/statuses",
            data={"status": "Dag", "language": "nl", "status_map[nds]": "Moin", "status_map[pap]": "Bon dia"},
        )
        low_german = await call(
            author, "GET", f"/api/v1/statuses/{posted['id']}", headers={"Accept-Language": "nds"}
        )
        frisian = await call(
            author,
            "POST",
            "/api/v1/statuses",
            data={"status": "Dag", "language": "nl", "status_map[fry]": "Goeie"},
        )
        read = await call(
            author, "GET", f"/api/v1/statuses/{frisian['id']}", headers={"Accept-Language": "fy-NL, nl;q=0.5"}
        )
    assert posted["plein_languages"] == ["nl", "nds", "pap"] and low_german["content"] == "<p>Moin</p>"
    assert read["language"] == "fry" and read["content"] == "<p>Goeie</p>"  # fy's other code


async def test_wrong_variants_are_refused_and_nothing_is_stored(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    alice = bearer(await make_token(instance.ctx, "alice"))
    limit = instance.ctx.settings.limits.max_status_characters
    wrong: list[tuple[dict[str, Any], str]] = [
        ({"status": "a", "language": "nl", "status_map[zz]": "b"}, "status_map.zz"),
        ({"status": "a", "language": "nl", "status_map[nl]": "b"}, "status_map.nl"),
        ({"status": "a", "language": "nl", "status_map[fy]": "  "}, "status_map.fy"),
        ({"status": "a", "language": "nl", "status_map[fy]": "b" * (limit + 1)}, "status_map.fy"),
        ({"status": "a", "status_map[fy]": "b"}, "language"),
        ({"status": "a", "language": "nl", "spoiler_text_map[fy]": "cw"}, "spoiler_text_map.fy"),
        ({"status": "a", "language": "fy", "status_map[fry]": "b"}, "status_map.fry"),  # fy's 639-3 code
        ({"status": "a", "language": "nl", "status_map[mul]": "b"}, "status_map.mul"),  # no language
    ]
    async with instance.client(headers=alice) as author:
        before = await _statuses_stored(instance)
        for fields, field in wrong:
            error = await call(author, "POST", "/api/v1/statuses", data=fields, expect=422)
            assert field in error["details"], (fields, error)
        assert await _statuses_stored(instance) == before
        error = await call(
            author,
            "POST",
            "/api/v1/statuses",
            json={"status": "a", "language": "nl", "status_map": {"fy": 3}},
            expect=422,
        )
        assert "status_map.fy" in error["details"]


async def test_edit_replaces_languages_and_keeps_them_in_the_history(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as author:
        posted = await call(author, "POST", "/api/v1/statuses", data=TRILINGUAL)
        path = f"/api/v1/statuses/{posted['id']}"
        error = await call(author, "PUT", path, data={"status": "x", "status_map[nl]": "dubbel"}, expect=422)
        assert "status_map.nl" in error["details"]
        edited = await call(
            author,
            "PUT",
            path,
            data={"status": "Goedemiddag", "language": "nl", "status_map[fy]": "Goeiemiddei"},
        )
        assert edited["plein_languages"] == ["nl", "fy"] and edited["edited_at"]
        english = await call(author, "GET", path, headers={"Accept-Language": "en"})
        assert english["language"] == "nl" and "Goedemiddag" in english["content"]
        history = await call(author, "GET", f"{path}/history")
        assert len(history) == 2
        assert sorted(history[0]["plein_content_map"]) == ["en", "fy"]
        assert history[1]["plein_content_map"] == {"fy": "<p>Goeiemiddei</p>"}
        source = await call(author, "GET", f"{path}/source")
        assert source["text"] == "Goedemiddag" and source["language"] == "nl"
        assert source["status_map"] == {"fy": "Goeiemiddei"} and source["spoiler_text_map"] == {}
    async with instance.ctx.db.read() as session:
        revisions = list(
            (
                await session.execute(
                    select(StatusEdit.variants)
                    .where(StatusEdit.status_id == int(posted["id"]))
                    .order_by(StatusEdit.id)
                )
            ).scalars()
        )
    assert [sorted(item["language"] for item in revision) for revision in revisions] == [["en", "fy"], ["fy"]]
    assert "Goeiemiddei" in revisions[1][0]["content"]


async def test_archive_keeps_every_language_of_every_revision(
    instance_on_each_backend: RunningInstance, tmp_path: Path
) -> None:
    instance = instance_on_each_backend
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as author:
        posted = await call(author, "POST", "/api/v1/statuses", data=TRILINGUAL)
        await call(
            author,
            "PUT",
            f"/api/v1/statuses/{posted['id']}",
            data={"status": "Goedemiddag", "language": "nl", "status_map[fy]": "Goeiemiddei"},
        )
    today = utcnow().date()
    out = tmp_path / "package"
    await export_public_records(
        instance.ctx, out, username="alice", period=period_of(today - timedelta(days=1), today)
    )
    lines = (out / "data/alice/activities.jsonl").read_text().splitlines()
    created, updated = (json.loads(line)["object"] for line in lines)
    assert sorted(created["contentMap"]) == ["en", "fy", "nl"]  # the archive sorts keys
    assert created["summaryMap"] == {"nl": "weer", "en": "weather"}
    assert sorted(updated["contentMap"]) == ["fy", "nl"] and "Goeiemiddei" in updated["contentMap"]["fy"]
