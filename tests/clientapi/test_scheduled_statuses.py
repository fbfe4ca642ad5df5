"""Scheduled statuses through the real endpoints: scheduling (with media and a poll), listing, reading,
moving, cancelling, Mastodon's rules (5 minutes ahead, 25 a day, 300 in all), and publication by the real
`scheduled_statuses` queue — once, even when its job runs again. Time moves by moving the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from checked import call
from sqlalchemy import func, select
from test_media import png_bytes, upload

from plein.jobs import job_handlers
from storage.context import Context
from storage.models import Job, MediaAttachment, ScheduledStatus, Status
from storage.queue import ClaimedJob
from storage.scheduled_statuses import SCHEDULED_QUEUE, add_scheduled
from storage.types import utcnow
from storage.worker import drain
from support.instance import RunningInstance
from support.oauth import bearer, make_token
from support.openapi import validate_entity
from support.scheduled import make_scheduled_due


def _at(delta: timedelta) -> str:
    return (utcnow() + delta).isoformat()


async def _count(ctx: Context, model: type, *conditions: Any) -> int:
    async with ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


async def test_schedule_list_move_cancel_and_refusals(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    async with instance.client(headers=alice) as a, instance.client(headers=bob) as b:
        scheduled = await call(
            a,
            "POST",
            "/api/v1/statuses",
            data={"status": "later", "scheduled_at": _at(timedelta(hours=1)), "visibility": "unlisted"},
        )
        validate_entity("ScheduledStatus", scheduled, all_properties=True)
        assert scheduled["params"]["text"] == "later" and scheduled["params"]["visibility"] == "unlisted"
        assert await call(a, "GET", "/api/v1/timelines/home") == []
        listed = await call(a, "GET", "/api/v1/scheduled_statuses")
        assert [item["id"] for item in listed] == [scheduled["id"]]
        one = await call(a, "GET", f"/api/v1/scheduled_statuses/{scheduled['id']}")
        assert one == scheduled
        await call(b, "GET", f"/api/v1/scheduled_statuses/{scheduled['id']}", expect=404)
        assert await call(b, "GET", "/api/v1/scheduled_statuses") == []

        later = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
        moved = await call(
            a,
            "PUT",
            f"/api/v1/scheduled_statuses/{scheduled['id']}",
            json={"scheduled_at": later.isoformat()},
        )
        assert moved["scheduled_at"] == "2030-06-01T12:00:00.000Z"
        async with instance.ctx.db.read() as session:
            [job] = (await session.execute(select(Job).where(Job.queue == SCHEDULED_QUEUE))).scalars()
        assert job.next_try_at == later  # the publish job moved with it

        for bad in (_at(timedelta(minutes=4)), _at(timedelta(seconds=30)), "tomorrow"):
            answer = await a.put(f"/api/v1/scheduled_statuses/{scheduled['id']}", json={"scheduled_at": bad})
            assert answer.status_code == 422 and "error" in answer.json()
            answer = await a.post("/api/v1/statuses", json={"status": "soon", "scheduled_at": bad})
            assert answer.status_code == 422 and "error" in answer.json()
        await call(a, "PUT", f"/api/v1/scheduled_statuses/{scheduled['id']}", json={}, expect=422)
        await call(
            b,
            "PUT",
            f"/api/v1/scheduled_statuses/{scheduled['id']}",
            json={"scheduled_at": later.isoformat()},
            expect=404,
        )
        answer = await a.post(
            "/api/v1/statuses",
            json={
                "status": "x",
                "scheduled_at": _at(timedelta(hours=1)),
                "poll": {"options": ["a"], "expires_in": 600},
            },
        )
        assert answer.status_code == 422
        assert len(await call(a, "GET", "/api/v1/scheduled_statuses")) == 1
        assert (await call(a, "GET", f"/api/v1/scheduled_statuses/{scheduled['id']}"))[
            "scheduled_at"
        ] == moved["scheduled_at"]

        # A time already past posts at once, as Mastodon does.
        now = await call(
            a, "POST", "/api/v1/statuses", json={"status": "now", "scheduled_at": _at(-timedelta(minutes=1))}
        )
        validate_entity("Status", now, all_properties=True)

        await call(b, "DELETE", f"/api/v1/scheduled_statuses/{scheduled['id']}", expect=404)
        assert await call(a, "DELETE", f"/api/v1/scheduled_statuses/{scheduled['id']}") == {}
        await call(a, "GET", f"/api/v1/scheduled_statuses/{scheduled['id']}", expect=404)
        assert await drain(instance.ctx.db, job_handlers(instance.ctx)) >= 0
        await make_scheduled_due(instance.ctx.db)
        await drain(instance.ctx.db, job_handlers(instance.ctx))
        assert [s["content"] for s in await call(a, "GET", "/api/v1/timelines/home")] == ["<p>now</p>"]


async def test_the_queue_publishes_once_with_media_and_poll(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as a:
        picture = await upload(a, png_bytes(), description="a chart")
        scheduled = await call(
            a,
            "POST",
            "/api/v1/statuses",
            json={
                "status": "with a picture",
                "media_ids": [picture["id"]],
                "scheduled_at": _at(timedelta(days=1)),
            },
        )
        assert [m["id"] for m in scheduled["media_attachments"]] == [picture["id"]]
        assert scheduled["params"]["media_ids"] == [picture["id"]]
        # The held picture is not free for another post meanwhile.
        taken = await a.post("/api/v1/statuses", json={"status": "steal", "media_ids": [picture["id"]]})
        assert taken.status_code == 422
        with_poll = await call(
            a,
            "POST",
            "/api/v1/statuses",
            json={
                "status": "vote later",
                "scheduled_at": _at(timedelta(days=1)),
                "poll": {"options": ["yes", "no"], "expires_in": 3600},
            },
        )
        assert with_poll["params"]["poll"]["options"] == ["yes", "no"]

        await drain(instance.ctx.db, job_handlers(instance.ctx))  # nothing is due yet
        assert await call(a, "GET", "/api/v1/timelines/home") == []
        await make_scheduled_due(instance.ctx.db)
        await drain(instance.ctx.db, job_handlers(instance.ctx))
        home = await call(a, "GET", "/api/v1/timelines/home")
        by_text = {status["content"]: status for status in home}
        published = by_text["<p>with a picture</p>"]
        assert [m["id"] for m in published["media_attachments"]] == [picture["id"]]
        poll = by_text["<p>vote later</p>"]["poll"]
        assert [o["title"] for o in poll["options"]] == ["yes", "no"] and poll["expired"] is False
        assert await call(a, "GET", "/api/v1/scheduled_statuses") == []
        async with instance.ctx.db.read() as session:
            held = await session.scalar(
                select(MediaAttachment.scheduled_status_id).where(MediaAttachment.id == int(picture["id"]))
            )
        assert held is None

        # A publish job run a second time (a worker that died after committing) publishes nothing more.
        handler = job_handlers(instance.ctx)[SCHEDULED_QUEUE]
        await handler(
            ClaimedJob(0, SCHEDULED_QUEUE, {"scheduled_status_id": int(scheduled["id"])}, 2, None, utcnow())
        )
        assert await _count(instance.ctx, Status, Status.account_id == int(published["account"]["id"])) == 2


async def test_limits_per_day_and_in_all(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    alice = bearer(await make_token(instance.ctx, "alice"))
    day = (utcnow() + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    async with instance.client(headers=alice) as a:
        for minute in range(25):
            await call(
                a,
                "POST",
                "/api/v1/statuses",
                json={"status": f"n{minute}", "scheduled_at": (day + timedelta(minutes=minute)).isoformat()},
            )
        over = await a.post(
            "/api/v1/statuses",
            json={"status": "26th", "scheduled_at": (day + timedelta(hours=5)).isoformat()},
        )
        assert over.status_code == 422 and "25" in over.json()["error"]
        next_day = await call(
            a,
            "POST",
            "/api/v1/statuses",
            json={"status": "ok", "scheduled_at": (day + timedelta(days=1)).isoformat()},
        )
        # Moving one onto the full day is refused too.
        await call(
            a,
            "PUT",
            f"/api/v1/scheduled_statuses/{next_day['id']}",
            json={"scheduled_at": day.isoformat()},
            expect=422,
        )

        async with instance.ctx.db.transaction() as session:
            owner = await session.scalar(select(ScheduledStatus.account_id).limit(1))
            for index in range(300 - 26):
                await add_scheduled(session, owner, day + timedelta(days=10 + index // 20), {"text": "bulk"})
        over = await a.post(
            "/api/v1/statuses",
            json={"status": "301st", "scheduled_at": (day + timedelta(days=200)).isoformat()},
        )
        assert over.status_code == 422 and "300" in over.json()["error"]
        page = await a.get("/api/v1/scheduled_statuses", params={"limit": 40})
        assert len(page.json()) == 40 and 'rel="next"' in page.headers["link"]
        assert await _count(instance.ctx, ScheduledStatus) == 300


async def test_a_scheduled_quote_is_published_as_a_quote(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    async with instance.client(headers=alice) as a, instance.client(headers=bob) as b:
        original = await call(
            a, "POST", "/api/v1/statuses", json={"status": "said", "quote_approval_policy": "followers"}
        )
        # bob does not follow alice: her policy refuses him now, not at publication time
        refused = await b.post(
            "/api/v1/statuses",
            json={
                "status": "later",
                "quoted_status_id": original["id"],
                "scheduled_at": _at(timedelta(days=1)),
            },
        )
        assert refused.status_code == 422
        scheduled = await call(
            a,
            "POST",
            "/api/v1/statuses",
            json={
                "status": "quoting myself later",
                "quoted_status_id": original["id"],
                "quote_approval_policy": "nobody",
                "scheduled_at": _at(timedelta(days=1)),
            },
        )
        assert scheduled["params"]["quoted_status_id"] == original["id"]
        assert scheduled["params"]["quote_approval_policy"] == "nobody"
        await make_scheduled_due(instance.ctx.db)
        await drain(instance.ctx.db, job_handlers(instance.ctx))
        mine = await call(a, "GET", f"/api/v1/accounts/{original['account']['id']}/statuses")
        published = next(s for s in mine if s["content"] == "<p>quoting myself later</p>")
        assert published["quote"]["state"] == "accepted"
        assert published["quote"]["quoted_status"]["id"] == original["id"]
        assert published["quote_approval"]["automatic"] == []
