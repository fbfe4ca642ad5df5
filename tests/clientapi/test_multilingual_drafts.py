"""A status in several languages that waits before it is published (docs/MULTILINGUAL.md): scheduled with
`scheduled_at`, or an organisation author's draft for review, through the real endpoints on both backends.
The scheduled status shows its languages in `params`, they are edited with `PUT`, and when the
`scheduled_statuses` queue publishes it every language is stored and federated; wrong maps are refused with
nothing stored."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from checked import call
from sqlalchemy import func, select

from plein.jobs import job_handlers
from plein.organisation_commands import organisation_command
from storage.context import Context
from storage.models import ScheduledStatus, Status, StatusVariant
from storage.types import utcnow
from storage.worker import drain
from support.instance import RunningInstance
from support.oauth import authorize, bearer, make_token, make_user
from support.scheduled import make_scheduled_due

PASSWORD = "correct horse battery staple"
TRILINGUAL = {
    "status": "Goedemorgen #Plein",
    "language": "nl",
    "spoiler_text": "weer",
    "status_map[fy]": "Goeie moarn #Plein",
    "status_map[en]": "Good morning #Plein",
    "spoiler_text_map[en]": "weather",
}


def _later() -> str:
    return (utcnow() + timedelta(hours=1)).isoformat()


async def _stored(ctx: Context) -> tuple[int, int, int]:
    async with ctx.db.read() as session:
        counts = [
            int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (ScheduledStatus, Status, StatusVariant)
        ]
    return counts[0], counts[1], counts[2]


async def _published(instance: RunningInstance, status_id: str) -> None:
    """The published status is read in Frisian by a reader whose language is `fy`, in English by a browser
    asking for it, and federates every language."""
    reader = bearer(await make_token(instance.ctx, "fenna"))
    async with instance.client(headers=reader) as frisian:
        await call(frisian, "PATCH", "/api/v1/accounts/update_credentials", data={"source[language]": "fy"})
        seen = await call(frisian, "GET", f"/api/v1/statuses/{status_id}")
        assert seen["language"] == "fy" and "Goeie moarn" in seen["content"]
        assert seen["plein_languages"] == ["nl", "en", "fy"]
    async with instance.client() as anonymous:
        path = f"/api/v1/statuses/{status_id}"
        english = await call(anonymous, "GET", path, headers={"Accept-Language": "en"})
        assert "Good morning" in english["content"] and english["spoiler_text"] == "weather"
        note = (await anonymous.get(english["uri"], headers={"Accept": "application/activity+json"})).json()
    assert list(note["contentMap"]) == ["nl", "en", "fy"] and "Goeie moarn" in note["contentMap"]["fy"]
    assert note["summaryMap"] == {"nl": "weer", "en": "weather"}


async def test_a_scheduled_trilingual_status_publishes_every_language(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    alice = bearer(await make_token(ctx, "alice"))
    bob = bearer(await make_token(ctx, "bob"))
    async with instance.client(headers=alice) as author, instance.client(headers=bob) as other:
        scheduled = await call(
            author,
            "POST",
            "/api/v1/statuses",
            data={**TRILINGUAL, "status_map[en]": "Good mornin", "scheduled_at": _later()},
        )
        assert scheduled["params"]["status_map"] == {"fy": "Goeie moarn #Plein", "en": "Good mornin"}
        assert scheduled["params"]["spoiler_text_map"] == {"en": "weather"}
        assert scheduled["params"]["language"] == "nl"
        path = f"/api/v1/scheduled_statuses/{scheduled['id']}"
        assert await call(author, "GET", path) == scheduled
        # Its languages are corrected in place (a Plein extension); wrong maps change nothing.
        for fields, field in WRONG_MAPS:
            error = await call(author, "PUT", path, data=fields, expect=422)
            assert field in error["details"], (fields, error)
        await call(other, "PUT", path, data={"status_map[en]": "Good morning #Plein"}, expect=404)
        assert await call(author, "GET", path) == scheduled
        corrected = await call(
            author,
            "PUT",
            path,
            data={
                "status_map[fy]": "Goeie moarn #Plein",
                "status_map[en]": "Good morning #Plein",
                "spoiler_text_map[en]": "weather",
            },
        )
        assert corrected["params"]["status_map"]["en"] == "Good morning #Plein"
        assert corrected["params"]["text"] == "Goedemorgen #Plein"  # what was not sent is kept
        assert await _stored(ctx) == (1, 0, 0)
        await make_scheduled_due(ctx.db)
        await drain(ctx.db, job_handlers(ctx))
        [status] = await call(author, "GET", "/api/v1/timelines/home")
        assert status["plein_languages"] == ["nl", "en", "fy"] and [t["name"] for t in status["tags"]] == [
            "plein"
        ]
    assert await _stored(ctx) == (0, 1, 2)
    await _published(instance, status["id"])


WRONG_MAPS: list[tuple[dict[str, Any], str]] = [
    ({"status_map[zz]": "b"}, "status_map.zz"),
    ({"status_map[nl]": "b"}, "status_map.nl"),
    ({"status_map[fy]": "  "}, "status_map.fy"),
    ({"status_map[fy]": "b" * 600}, "status_map.fy"),
    ({"spoiler_text_map[fy]": "cw"}, "spoiler_text_map.fy"),
]


async def test_wrong_maps_on_a_scheduled_status_are_refused_and_nothing_is_stored(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as author:
        for fields, field in WRONG_MAPS:
            sent = {"status": "a", "language": "nl", "scheduled_at": _later(), **fields}
            error = await call(author, "POST", "/api/v1/statuses", data=sent, expect=422)
            assert field in error["details"], (fields, error)
        sent = {"status": "a", "scheduled_at": _later(), "status_map[fy]": "b"}
        error = await call(author, "POST", "/api/v1/statuses", data=sent, expect=422)
        assert "language" in error["details"]
        sent_json = {"status": "a", "language": "nl", "scheduled_at": _later(), "status_map": {"fy": 3}}
        error = await call(author, "POST", "/api/v1/statuses", json=sent_json, expect=422)
        assert "status_map.fy" in error["details"]
    assert await _stored(instance.ctx) == (0, 0, 0)


async def _organisation(instance: RunningInstance) -> tuple[str, str]:
    """A ministry whose author's posts wait for review: (the author's token, the publisher's), both acting
    as the ministry."""
    ctx = instance.ctx
    ministry = await make_user(ctx, "ministry")
    for name in ("anna", "bram"):
        await make_user(ctx, name, PASSWORD)
    for action, values in (
        ("create", {"username": "ministry", "review": "on"}),
        ("add", {"organisation": "ministry", "member": "anna", "role": "publisher"}),
        ("add", {"organisation": "ministry", "member": "bram", "role": "author"}),
    ):
        await organisation_command(ctx, argparse.Namespace(action=action, **values))
    tokens = []
    for login in ("bram", "anna"):
        async with instance.client() as browser:
            tokens.append(
                await authorize(browser, username=login, password=PASSWORD, act_as=str(ministry.id))
            )
    return tokens[0], tokens[1]


async def test_an_author_in_review_cannot_change_a_scheduled_status_nor_an_approved_draft(
    instance_on_each_backend: RunningInstance, tmp_path: Path
) -> None:
    instance = instance_on_each_backend
    author_token, publisher_token = await _organisation(instance)
    async with instance.client(headers=bearer(publisher_token)) as publisher:
        scheduled = await call(
            publisher, "POST", "/api/v1/statuses", data={**TRILINGUAL, "scheduled_at": _later()}
        )
    path = f"/api/v1/scheduled_statuses/{scheduled['id']}"
    async with instance.client(headers=bearer(author_token)) as author:
        refused = await author.put(path, data={"status_map[en]": "Bad morning"})
        assert refused.status_code == 403 and "review" in refused.json()["error"]
        draft = await call(author, "POST", "/api/v1/statuses", data=TRILINGUAL)
    async with instance.client(headers=bearer(publisher_token)) as publisher:
        assert (await call(publisher, "GET", path))["params"] == scheduled["params"]
        draft_path = f"/api/v1/scheduled_statuses/{draft['id']}"
        assert (await publisher.post(f"{draft_path}/approve")).status_code == 200
        late = await publisher.put(draft_path, data={"status_map[en]": "Too late"})
        assert late.status_code == 422 and "review" in late.json()["error"]
        changed = await call(publisher, "PUT", path, data={"status_map[en]": "Good day"})
        assert changed["params"]["status_map"] == {"en": "Good day"}
    out = tmp_path / "audit.json"
    audit = argparse.Namespace(action="audit", organisation="ministry", format="json", out=str(out))
    await organisation_command(instance.ctx, audit)
    [entry] = [entry for entry in json.loads(out.read_text()) if entry["action"] == "scheduled.edit"]
    assert entry["login"] == "anna" and entry["after"]["status_map"] == {"en": "Good day"}
    assert entry["before"]["status_map"] == scheduled["params"]["status_map"]


async def test_an_approved_trilingual_draft_publishes_every_language(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    author_token, publisher_token = await _organisation(instance)
    async with instance.client(headers=bearer(author_token)) as author:
        draft = await call(
            author, "POST", "/api/v1/statuses", data={**TRILINGUAL, "status_map[en]": "Good mornin"}
        )
        assert draft["params"]["status_map"] == {"fy": "Goeie moarn #Plein", "en": "Good mornin"}
    path = f"/api/v1/scheduled_statuses/{draft['id']}"
    async with instance.client(headers=bearer(publisher_token)) as publisher:
        for fields, field in WRONG_MAPS:
            error = await call(publisher, "PUT", path, data=fields, expect=422)
            assert field in error["details"], (fields, error)
        assert (await call(publisher, "GET", path))["params"] == draft["params"]
        # The publisher corrects the English; the languages sent replace the draft's, as a status's edit.
        edited = await call(
            publisher,
            "PUT",
            path,
            data={
                "status_map[fy]": "Goeie moarn #Plein",
                "status_map[en]": "Good morning #Plein",
                "spoiler_text_map[en]": "weather",
            },
        )
        assert edited["params"]["status_map"]["en"] == "Good morning #Plein"
        assert edited["params"]["spoiler_text_map"] == {"en": "weather"}
        assert edited["params"]["text"] == "Goedemorgen #Plein"  # what was not sent is kept
        kept = await call(publisher, "PUT", path, data={"status": "Goedemorgen #Plein"})
        assert kept["params"]["status_map"] == edited["params"]["status_map"]
        assert await _stored(ctx) == (1, 0, 0)
        approved = await publisher.post(f"{path}/approve")  # a Plein extension, not in Mastodon's OpenAPI
        assert approved.status_code == 200
    await drain(ctx.db, job_handlers(ctx))
    assert await _stored(ctx) == (0, 1, 2)
    async with instance.client(headers=bearer(publisher_token)) as publisher:
        [status] = await call(publisher, "GET", "/api/v1/timelines/home")
    await _published(instance, status["id"])
