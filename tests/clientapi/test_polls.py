"""Polls through the real endpoints: created with a status (form and JSON), read, voted on, refused as
Mastodon refuses them (each refusal changing nothing), hidden totals, edits that reset votes, and the end
of a poll run by the real `polls` queue — with time moved forward by moving the rows, never by sleeping."""

from __future__ import annotations

from typing import Any

from checked import call
from sqlalchemy import select, update

from plein.jobs import job_handlers
from storage.context import Context
from storage.models import Job
from storage.polls import POLLS_QUEUE
from storage.types import utcnow
from storage.worker import drain
from support.instance import RunningInstance
from support.oauth import bearer, make_token
from support.openapi import validate_entity
from support.polls import make_poll_jobs_due

FORM_POLL = {"status": "tea or coffee?", "poll[options][]": ["tea", "coffee"], "poll[expires_in]": "3600"}


async def _poll_status(client: Any, **poll: Any) -> dict[str, Any]:
    body = {"status": "which?", "poll": {"options": ["a", "b", "c"], "expires_in": 600, **poll}}
    return await call(client, "POST", "/api/v1/statuses", json=body)


async def end_polls_now(ctx: Context) -> int:
    """End every poll now and run the queues as the workers would; returns how many jobs ran."""
    await make_poll_jobs_due(ctx.db, ending=True)
    return await drain(ctx.db, job_handlers(ctx))


async def test_create_read_vote_and_refusals(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    async with instance.client(headers=alice) as a, instance.client(headers=bob) as b:
        posted = await call(a, "POST", "/api/v1/statuses", data=FORM_POLL)
        validate_entity("Status", posted, all_properties=True)
        poll = posted["poll"]
        validate_entity("Poll", poll, all_properties=True)
        assert [option["title"] for option in poll["options"]] == ["tea", "coffee"]
        assert poll["multiple"] is False and poll["expired"] is False and poll["votes_count"] == 0
        assert poll["voted"] is True and poll["own_votes"] == []  # the author counts as having voted
        poll_id = poll["id"]

        await call(a, "POST", f"/api/v1/polls/{poll_id}/votes", data={"choices[]": "0"}, expect=422)
        for bad in (["2"], ["0", "1"], ["-1"], ["x"], []):
            await call(b, "POST", f"/api/v1/polls/{poll_id}/votes", data={"choices[]": bad}, expect=422)
        voted = await call(b, "POST", f"/api/v1/polls/{poll_id}/votes", data={"choices[]": "1"})
        validate_entity("Poll", voted, all_properties=True)
        assert voted["voted"] is True and voted["own_votes"] == [1]
        assert voted["votes_count"] == 1 and voted["voters_count"] == 1
        assert [option["votes_count"] for option in voted["options"]] == [0, 1]
        again = await b.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": "0"})
        assert again.status_code == 422
        assert again.json()["error"] == "Validation failed: You have already voted on this poll"

        seen_by_bob = await call(b, "GET", f"/api/v1/statuses/{posted['id']}")
        assert seen_by_bob["poll"]["own_votes"] == [1]
        async with instance.client() as nobody:
            anonymous = await call(nobody, "GET", f"/api/v1/polls/{poll_id}")
        assert anonymous["voted"] is None and anonymous["own_votes"] is None and anonymous["votes_count"] == 1
        await call(b, "GET", "/api/v1/polls/999999", expect=404)
        await call(b, "POST", "/api/v1/polls/999999/votes", data={"choices[]": "0"}, expect=404)

        private = await call(a, "POST", "/api/v1/statuses", data={**FORM_POLL, "visibility": "private"})
        await call(b, "GET", f"/api/v1/polls/{private['poll']['id']}", expect=404)
        await call(
            b, "POST", f"/api/v1/polls/{private['poll']['id']}/votes", data={"choices[]": "0"}, expect=404
        )

        final = await call(a, "GET", f"/api/v1/polls/{poll_id}")
        assert final["votes_count"] == 1 and [o["votes_count"] for o in final["options"]] == [0, 1]


async def test_bad_polls_are_refused_and_nothing_is_posted(instance: RunningInstance) -> None:
    alice = bearer(await make_token(instance.ctx, "alice"))
    cases: list[dict[str, Any]] = [
        {"options": ["only"], "expires_in": 600},
        {"options": ["a", "b", "c", "d", "e"], "expires_in": 600},
        {"options": ["a", "x" * 51], "expires_in": 600},
        {"options": ["same", "same"], "expires_in": 600},
        {"options": ["a", " "], "expires_in": 600},
        {"options": ["a", "b"], "expires_in": 299},
        {"options": ["a", "b"], "expires_in": 2_629_747},
        {"options": ["a", "b"]},
        {"options": ["a", "b"], "expires_in": "soon"},
    ]
    async with instance.client(headers=alice) as a:
        for poll in cases:
            answer = await a.post("/api/v1/statuses", json={"status": "bad poll", "poll": poll})
            assert answer.status_code == 422, (poll, answer.text)
            assert answer.json()["error"].startswith("Validation failed")
            assert set(answer.json()["details"]) <= {"poll.options", "poll.expires_at", "poll.expires_in"}
        assert await call(a, "GET", "/api/v1/timelines/home") == []
        ok = await _poll_status(a, expires_in=300)
        assert len(ok["poll"]["options"]) == 3


async def test_multiple_choice_hidden_totals_and_edits(instance: RunningInstance) -> None:
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    async with instance.client(headers=alice) as a, instance.client(headers=bob) as b:
        posted = await _poll_status(a, multiple=True, hide_totals=True)
        poll_id = posted["poll"]["id"]
        assert posted["poll"]["multiple"] is True
        voted = await call(b, "POST", f"/api/v1/polls/{poll_id}/votes", json={"choices": [0, 2]})
        assert voted["own_votes"] == [0, 2] and voted["votes_count"] == 2 and voted["voters_count"] == 1
        assert [option["votes_count"] for option in voted["options"]] == [None, None, None]
        more = await call(b, "POST", f"/api/v1/polls/{poll_id}/votes", json={"choices": [1]})
        assert more["votes_count"] == 3 and more["voters_count"] == 1
        await call(b, "POST", f"/api/v1/polls/{poll_id}/votes", json={"choices": [1]}, expect=422)

        # Same options: the votes stay. New options: every vote goes (Mastodon's rule).
        kept = await call(
            a,
            "PUT",
            f"/api/v1/statuses/{posted['id']}",
            json={
                "status": "which? (edited)",
                "poll": {"options": ["a", "b", "c"], "expires_in": 900, "multiple": True},
            },
        )
        assert kept["poll"]["votes_count"] == 3 and kept["poll"]["options"][0]["votes_count"] == 1
        reset = await call(
            a,
            "PUT",
            f"/api/v1/statuses/{posted['id']}",
            json={"status": "which? (again)", "poll": {"options": ["a", "b"], "expires_in": 900}},
        )
        assert reset["poll"]["id"] == poll_id and reset["poll"]["votes_count"] == 0
        assert reset["poll"]["multiple"] is False
        assert (await call(b, "GET", f"/api/v1/polls/{poll_id}"))["own_votes"] == []
        # An edit without a poll removes it, as in Mastodon.
        plain = await call(a, "PUT", f"/api/v1/statuses/{posted['id']}", json={"status": "no poll now"})
        assert plain["poll"] is None
        await call(b, "GET", f"/api/v1/polls/{poll_id}", expect=404)


async def test_the_queue_ends_a_poll_and_notifies_voters_and_author(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    carol = bearer(await make_token(instance.ctx, "carol"))
    async with (
        instance.client(headers=alice) as a,
        instance.client(headers=bob) as b,
        instance.client(headers=carol) as c,
    ):
        posted = await _poll_status(a, hide_totals=True)
        poll_id = posted["poll"]["id"]
        await call(b, "POST", f"/api/v1/polls/{poll_id}/votes", json={"choices": [2]})
        # Not due yet: draining runs nothing that ends it.
        await drain(instance.ctx.db, job_handlers(instance.ctx))
        assert (await call(b, "GET", f"/api/v1/polls/{poll_id}"))["expired"] is False
        assert await call(a, "GET", "/api/v1/notifications", params={"types[]": "poll"}) == []

        assert await end_polls_now(instance.ctx) >= 1
        ended = await call(b, "GET", f"/api/v1/polls/{poll_id}")
        assert ended["expired"] is True
        assert [option["votes_count"] for option in ended["options"]] == [0, 0, 1]  # totals shown at the end
        for client in (a, b):
            [notification] = await call(client, "GET", "/api/v1/notifications", params={"types[]": "poll"})
            validate_entity("Notification", notification, all_properties=True)
            assert notification["status"]["id"] == posted["id"]
            assert notification["account"]["username"] == "alice"
        assert await call(c, "GET", "/api/v1/notifications", params={"types[]": "poll"}) == []
        late = await c.post(f"/api/v1/polls/{poll_id}/votes", json={"choices": [0]})
        assert late.status_code == 422
        assert late.json()["error"] == "Validation failed: The poll has already ended"
        # The end runs once: draining again notifies nobody twice.
        await drain(instance.ctx.db, job_handlers(instance.ctx))
        assert len(await call(a, "GET", "/api/v1/notifications", params={"types[]": "poll"})) == 1


async def test_an_edit_moving_the_end_leaves_the_old_end_job_idle(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as a:
        posted = await _poll_status(a)
        await call(
            a,
            "PUT",
            f"/api/v1/statuses/{posted['id']}",
            json={"status": "later", "poll": {"options": ["a", "b", "c"], "expires_in": 7200}},
        )
        async with instance.ctx.db.transaction() as session:
            # Only the first end's job becomes due: it finds the end moved and does nothing.
            first = (
                await session.execute(select(Job).where(Job.queue == POLLS_QUEUE).order_by(Job.id).limit(1))
            ).scalar_one()
            await session.execute(update(Job).where(Job.id == first.id).values(next_try_at=utcnow()))
        await drain(instance.ctx.db, job_handlers(instance.ctx))
        assert (await call(a, "GET", f"/api/v1/polls/{posted['poll']['id']}"))["expired"] is False
        assert await call(a, "GET", "/api/v1/notifications", params={"types[]": "poll"}) == []
