"""Filters applied server-side, through the real endpoints: each context (home, lists, public and hashtag
timelines, an account's statuses, threads, notifications) hides what a `hide` filter of that context matches
and reports `warn` / `blur` matches in `filtered`; whole-word against substring keywords, content warnings,
media descriptions and poll options, filtered statuses and boosts of them, expiry, and the viewer's own
statuses left alone. Responses are validated against the Mastodon OpenAPI description (Status.filtered
holds FilterResult entities)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from checked import call
from sqlalchemy import select, update

from outbox import actions
from storage.context import Context
from storage.filter_matching import keyword_pattern
from storage.models import Filter, MediaAttachment, Status
from storage.polls import PollRequest
from storage.types import utcnow
from support.filters import create_filter
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user

ALL_CONTEXTS = ["home", "notifications", "public", "thread", "account"]


def _texts(statuses: list[dict[str, Any]]) -> list[str]:
    return [(status["reblog"] or status)["content"] for status in statuses]


def _by_text(statuses: list[dict[str, Any]], fragment: str) -> dict[str, Any]:
    (found,) = [status for status in statuses if fragment in (status["reblog"] or status)["content"]]
    return found


async def test_each_context_hides_and_warns(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    token = bearer(await make_token(ctx, "alice"))
    alice, bob = await make_user(ctx, "alice"), await make_user(ctx, "bob")
    await actions.follow(ctx, alice, bob)
    async with instance.client(headers=token) as a:
        hiding = await create_filter(a, ALL_CONTEXTS, "hide", ("secret", True), title="Leaks")
        warning = await create_filter(a, ["home"], "warn", ("budget", False), title="Money")
        work = await call(a, "POST", "/api/v1/lists", data={"title": "Work"})
        await call(a, "POST", f"/api/v1/lists/{work['id']}/accounts", data={"account_ids[]": [str(bob.id)]})

        root = await actions.post_status(ctx, bob, text="Root of the thread #news")
        await actions.post_status(ctx, bob, text="The secret plan #news", in_reply_to_id=root.id)
        await actions.post_status(ctx, bob, text="Budgetary news #news")
        await actions.post_status(ctx, bob, text="The secretary met #news")  # whole word: not "secret"
        await actions.post_status(ctx, bob, text="@alice a secret for you")
        await actions.post_status(ctx, bob, text="@alice hello")
        await actions.post_status(ctx, alice, text="my own secret")  # the viewer's own: never filtered

        home = await call(a, "GET", "/api/v1/timelines/home")
        assert not any("secret plan" in text or "secret for you" in text for text in _texts(home))
        assert any("my own secret" in text for text in _texts(home))
        warned = _by_text(home, "Budgetary")
        assert warned["filtered"] == [
            {"filter": _summary(warning), "keyword_matches": ["Budget"], "status_matches": None}
        ]
        assert _by_text(home, "secretary")["filtered"] == []

        listed = await call(a, "GET", f"/api/v1/timelines/list/{work['id']}")
        assert listed and not any("secret plan" in text for text in _texts(listed))
        assert _by_text(listed, "Budgetary")["filtered"]  # lists are the `home` context

        public = await call(a, "GET", "/api/v1/timelines/public")
        assert not any("secret plan" in text for text in _texts(public))
        assert _by_text(public, "Budgetary")["filtered"] == []  # the warning filter is for home only
        tag = await call(a, "GET", "/api/v1/timelines/tag/news")
        assert len(tag) == 3 and not any("secret plan" in text for text in _texts(tag))
        account = await call(a, "GET", f"/api/v1/accounts/{bob.id}/statuses")
        assert account and not any("secret" in text and "secretary" not in text for text in _texts(account))
        thread = await call(a, "GET", f"/api/v1/statuses/{root.id}/context")
        assert thread["descendants"] == []
        (notification,) = await call(a, "GET", "/api/v1/notifications")
        assert "hello" in notification["status"]["content"]

        # One status, outside any context: nothing is taken out, every matching filter is reported.
        plan = await _status_with(ctx, "secret plan")
        shown = await call(a, "GET", f"/api/v1/statuses/{plan}")
        assert shown["filtered"] == [
            {"filter": _summary(hiding), "keyword_matches": ["secret"], "status_matches": None}
        ]

        # Without the filter, everything is back; no `filtered` for anonymous readers.
        await call(a, "DELETE", f"/api/v2/filters/{hiding['id']}")
        assert len(await call(a, "GET", "/api/v1/notifications")) == 2
        assert (await call(a, "GET", f"/api/v1/statuses/{root.id}/context"))["descendants"]
    async with instance.client() as anonymous:
        assert (await call(anonymous, "GET", f"/api/v1/statuses/{plan}"))["filtered"] is None


def _summary(entity: dict[str, Any]) -> dict[str, Any]:
    """The Filter entity as a FilterResult carries it (no keywords or statuses)."""
    return {key: entity[key] for key in ("id", "title", "context", "expires_at", "filter_action")}


async def _status_with(ctx: Context, fragment: str) -> int:
    async with ctx.db.read() as session:
        return int(await session.scalar(select(Status.id).where(Status.content.contains(fragment))))


def test_keyword_patterns_are_mastodons() -> None:
    def matches(keyword: str, whole_word: bool, text: str) -> bool:
        return re.search(keyword_pattern(keyword, whole_word), text, re.IGNORECASE) is not None

    assert matches("cat", True, "A CAT sat") and not matches("cat", True, "concatenate")
    assert matches("cat", False, "concatenate")
    assert matches("café", True, "Le Café est ouvert") and not matches("café", True, "cafés")
    # Boundaries only on the sides that start or end with a word character (`#tag` has none before `#`).
    assert matches("#news", True, "breaking#news today") and not matches("#news", True, "#newsroom")
    assert matches("c++", True, "I write C++.") and matches("c++", True, "c++x")
    assert matches("a.b", True, "x a.b y") and not matches("a.b", True, "axb")  # escaped, not a regex


async def test_keywords_match_content_warnings_media_descriptions_and_poll_options(
    instance: RunningInstance,
) -> None:
    ctx = instance.ctx
    token = bearer(await make_token(ctx, "alice"))
    bob = await make_user(ctx, "bob")
    warned = await actions.post_status(ctx, bob, text="nothing here", spoiler_text="Elections ahead")
    pictured = await actions.post_status(ctx, bob, text="look at this")
    polled = await actions.post_status(
        ctx, bob, text="your choice", poll=PollRequest(options=["Referendum now", "Later"], expires_in=600)
    )
    paragraphs = await actions.post_status(ctx, bob, text="first line\n\nsecond line")
    async with ctx.db.transaction() as session:
        session.add(MediaAttachment(account_id=bob.id, status_id=pictured.id, description="A rally downtown"))
    async with instance.client(headers=token) as a:
        await create_filter(a, ["public"], "warn", ("elections", True), ("rally", True), title="Politics")
        await create_filter(a, ["public"], "blur", ("referendum", True), title="Votes")
        await create_filter(
            a, ["public"], "warn", ("linesecond", False), ("line second", False), title="Lines"
        )
        public = await call(a, "GET", "/api/v1/timelines/public")
        by_id = {status["id"]: status for status in public}
        assert by_id[str(warned.id)]["filtered"][0]["keyword_matches"] == ["Elections"]
        assert by_id[str(pictured.id)]["filtered"][0]["keyword_matches"] == ["rally"]
        (blurred,) = by_id[str(polled.id)]["filtered"]
        assert blurred["filter"]["filter_action"] == "blur" and blurred["keyword_matches"] == ["Referendum"]
        # Paragraphs are words apart: "line" and "second" are not glued together.
        assert by_id[str(paragraphs.id)]["filtered"] == []


async def test_filtered_statuses_boosts_and_expiry(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    token = bearer(await make_token(ctx, "alice"))
    alice, bob, carol = [await make_user(ctx, name) for name in ("alice", "bob", "carol")]
    await actions.follow(ctx, alice, carol)
    await actions.follow(ctx, alice, bob)
    target = await actions.post_status(ctx, bob, text="an ordinary post")
    other = await actions.post_status(ctx, bob, text="another ordinary post")
    boost = await actions.reblog(ctx, carol, target.id)
    async with instance.client(headers=token) as a:
        named = await create_filter(a, ["home"], "warn", title="This one")
        await call(a, "POST", f"/api/v2/filters/{named['id']}/statuses", data={"status_id": str(target.id)})
        home = {status["id"]: status for status in await call(a, "GET", "/api/v1/timelines/home")}
        expected = [{"filter": _summary(named), "keyword_matches": None, "status_matches": [str(target.id)]}]
        assert home[str(target.id)]["filtered"] == expected
        # The boost matches through its original, and the original inside it says so too (as Mastodon).
        assert home[str(boost.id)]["filtered"] == expected
        assert home[str(boost.id)]["reblog"]["filtered"] == expected
        assert home[str(other.id)]["filtered"] == []

        hiding = await create_filter(a, ["home"], "hide", ("ordinary", True), title="Gone")
        home_ids = [status["id"] for status in await call(a, "GET", "/api/v1/timelines/home")]
        assert home_ids == []  # the boost goes with its original

        # An expired filter stops applying, and is still listed with its expiry.
        async with ctx.db.transaction() as session:
            await session.execute(
                update(Filter)
                .where(Filter.id == int(hiding["id"]))
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        assert len(await call(a, "GET", "/api/v1/timelines/home")) == 3
        listed = {entry["id"]: entry for entry in await call(a, "GET", "/api/v2/filters")}
        assert listed[hiding["id"]]["expires_at"] is not None
        # `expires_in: 0` is already over; a later expiry applies until then.
        await call(a, "PUT", f"/api/v2/filters/{hiding['id']}", json={"expires_in": 0})
        assert len(await call(a, "GET", "/api/v1/timelines/home")) == 3
        await call(a, "PUT", f"/api/v2/filters/{hiding['id']}", json={"expires_in": 3600})
        assert await call(a, "GET", "/api/v1/timelines/home") == []
