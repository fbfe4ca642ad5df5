"""Organisations in the browser, through the real pages on both backends: a member switches to the
organisation with the account switcher and then writes, reads and changes the profile as it under their role
(the same rule as an acting token), each action audited as their login through "web session"; an author's
post becomes a draft; leaving the organisation ends the acting at the next request."""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from plein.jobs import job_handlers
from plein.organisation_commands import organisation_command
from storage.context import Context
from storage.models import Account, ScheduledStatus, Status
from storage.status_variants import variants_of
from storage.worker import drain
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import authorize, bearer, make_user
from support.web import PASSWORD, csrf_of, web_login


@pytest.fixture
async def instance(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path, database_url=database_url)) as running:
        yield running


async def _org(ctx: Context, action: str, **values: object) -> int:
    return await organisation_command(ctx, argparse.Namespace(action=action, **values))


async def _setup(instance: RunningInstance, *, review: str = "off") -> tuple[Context, Account]:
    ctx = instance.ctx
    assert ctx is not None
    ministry = await make_user(ctx, "ministry")
    for name in ("anna", "bram", "carla", "dirk"):
        await make_user(ctx, name, PASSWORD)
    await _org(ctx, "create", username="ministry", review=review)
    await _org(ctx, "add", organisation="ministry", member="anna", role="publisher")
    await _org(ctx, "add", organisation="ministry", member="bram", role="author")
    await _org(ctx, "add", organisation="ministry", member="carla", role="editor")
    return ctx, ministry


async def _switch(browser: httpx.AsyncClient, account_id: int) -> None:
    page = await browser.get("/web/home")
    switched = await browser.post(
        "/web/acting", data={"csrf_token": csrf_of(page.text), "account_id": str(account_id)}
    )
    assert switched.status_code == 303


async def _compose(browser: httpx.AsyncClient, text: str) -> httpx.Response:
    page = await browser.get("/web/compose")
    return await browser.post(
        "/web/compose",
        data={"csrf_token": csrf_of(page.text), "text": text, "visibility": "public", "language": "nl"},
    )


async def authorize_as(instance: RunningInstance, login: str, organisation: Account) -> str:
    async with instance.client() as browser:
        return await authorize(browser, username=login, password=PASSWORD, act_as=str(organisation.id))


async def _audit(ctx: Context, tmp_path: Path) -> list[dict[str, object]]:
    out = tmp_path / "audit.json"
    await _org(ctx, "audit", organisation="ministry", format="json", out=str(out))
    return json.loads(out.read_text())  # type: ignore[no-any-return]


async def test_an_editor_posts_as_the_organisation_from_the_browser(
    instance: RunningInstance, tmp_path: Path
) -> None:
    ctx, ministry = await _setup(instance)
    async with instance.client() as browser:
        await web_login(browser, "carla", PASSWORD)
        home = await browser.get("/web/home")
        assert "U handelt als uzelf, @carla" in home.text and "@ministry (redacteur)" in home.text
        # The switcher is a form like every other: without its token nothing changes.
        refused = await browser.post("/web/acting", data={"account_id": str(ministry.id)})
        assert refused.status_code == 403
        dirk = await make_user(ctx, "elsa")  # not a membership of carla's
        stranger = await browser.post(
            "/web/acting", data={"csrf_token": csrf_of(home.text), "account_id": str(dirk.id)}
        )
        assert stranger.status_code == 403
        await _switch(browser, ministry.id)
        home = await browser.get("/web/home")
        assert "U handelt als @ministry (redacteur), ingelogd als @carla" in home.text
        assert (await _compose(browser, "Persbericht: de brug is open")).status_code == 303
        # The profile is the organisation's, and only its publishers change it.
        settings = await browser.get("/web/settings")
        assert (
            "Profiel van @ministry" in settings.text and 'action="/web/settings/profile"' not in settings.text
        )
        profile = await browser.post(
            "/web/settings/profile", data={"csrf_token": csrf_of(settings.text), "display_name": "Gekaapt"}
        )
        assert profile.status_code == 403
    async with ctx.db.read() as session:
        status = (
            await session.execute(select(Status).where(Status.text == "Persbericht: de brug is open"))
        ).scalar_one()
        assert status.account_id == ministry.id
        assert (await session.get(Account, ministry.id)).display_name != "Gekaapt"  # type: ignore[union-attr]
    entries = [e for e in await _audit(ctx, tmp_path) if e["login"] == "carla"]
    assert [(e["role"], e["via"], e["action"]) for e in entries] == [("editor", "web session", "Create Note")]

    async with instance.client() as browser:  # a publisher changes the profile, audited with before/after
        await web_login(browser, "anna", PASSWORD)
        await _switch(browser, ministry.id)
        settings = await browser.get("/web/settings")
        saved = await browser.post(
            "/web/settings/profile",
            data={"csrf_token": csrf_of(settings.text), "display_name": "Ministerie van BZK", "note": ""},
        )
        assert saved.status_code == 303
    async with ctx.db.read() as session:
        assert (await session.get(Account, ministry.id)).display_name == "Ministerie van BZK"  # type: ignore[union-attr]
    update = [e for e in await _audit(ctx, tmp_path) if e["login"] == "anna"][-1]
    assert (update["via"], update["action"]) == ("web session", "Update Organization")
    assert update["after"]["name"] == "Ministerie van BZK"  # type: ignore[index]


async def test_an_authors_post_from_the_browser_waits_for_review(instance: RunningInstance) -> None:
    ctx, ministry = await _setup(instance, review="on")
    async with instance.client() as browser:
        await web_login(browser, "bram", PASSWORD)
        await _switch(browser, ministry.id)
        sent = await _compose(browser, "Concept: nieuwe openingstijden")
        assert sent.status_code == 303 and sent.headers["location"] == "/web/compose?submitted=1"
        assert "wacht op beoordeling" in (await browser.get(sent.headers["location"])).text
    async with ctx.db.read() as session:
        assert (
            await session.execute(select(Status).where(Status.text.contains("openingstijden")))
        ).first() is None
        draft = (await session.execute(select(ScheduledStatus))).scalar_one()
        assert draft.account_id == ministry.id and draft.review_state == "pending"
    async with instance.client() as browser:
        await web_login(browser, "anna", PASSWORD)
        assert "Concept: nieuwe openingstijden" in (await browser.get("/web/review")).text


async def test_an_authors_draft_in_three_languages_from_the_browser_publishes_each(
    instance: RunningInstance,
) -> None:
    ctx, ministry = await _setup(instance, review="on")
    async with instance.client() as browser:
        await web_login(browser, "bram", PASSWORD)
        await _switch(browser, ministry.id)
        page = await browser.get("/web/compose")
        sent = await browser.post(
            "/web/compose",
            data={
                "csrf_token": csrf_of(page.text),
                "text": "De brug is open",
                "visibility": "public",
                "language": "nl",
                "variant_language1": "fy",
                "variant_text1": "De brêge is iepen",
                "variant_cw1": "",
                "variant_language2": "en",
                "variant_text2": "The bridge is open",
                "variant_cw2": "traffic",
            },
        )
        assert sent.status_code == 303 and sent.headers["location"] == "/web/compose?submitted=1"
    async with ctx.db.read() as session:
        draft = (await session.execute(select(ScheduledStatus))).scalar_one()
    assert draft.params["status_map"] == {"fy": "De brêge is iepen", "en": "The bridge is open"}
    assert draft.params["spoiler_text_map"] == {"en": "traffic"}
    async with instance.client() as browser:
        await web_login(browser, "anna", PASSWORD)
        queue = await browser.get("/web/review")
        assert '<div lang="fy">' in queue.text and "De brêge is iepen" in queue.text
        # The edit form holds every language; the publisher corrects the English and drops the warning.
        assert 'name="variant_text2" rows="3">The bridge is open</textarea>' in queue.text
        target = {"organisation_id": str(ministry.id), "draft_id": str(draft.id)}
        edited = {
            "text": "De brug is open",
            "visibility": "public",
            "language": "nl",
            "variant_language1": "fy",
            "variant_text1": "De brêge is iepen",
            "variant_cw1": "",
            "variant_language2": "en",
            "variant_text2": "The bridge is open again",
            "variant_cw2": "",
        }
        unnamed = await browser.post(
            "/web/review/edit",
            data={"csrf_token": csrf_of(queue.text), **target, **edited, "variant_language2": ""},
        )
        assert unnamed.status_code == 422
        saved = await browser.post(
            "/web/review/edit", data={"csrf_token": csrf_of(queue.text), **target, **edited}
        )
        assert saved.status_code == 303
        queue = await browser.get("/web/review")
        approved = await browser.post(
            "/web/review",
            data={
                "csrf_token": csrf_of(queue.text),
                "organisation_id": str(ministry.id),
                "draft_id": str(draft.id),
                "decision": "approve",
            },
        )
        assert approved.status_code == 303
    await drain(ctx.db, job_handlers(ctx))
    async with ctx.db.read() as session:
        status = (await session.execute(select(Status))).scalar_one()
        others = (await variants_of(session, [status.id]))[status.id]
    assert status.language == "nl" and [(v.language, v.text, v.spoiler_text) for v in others] == [
        ("en", "The bridge is open again", ""),
        ("fy", "De brêge is iepen", ""),
    ]


async def test_leaving_the_organisation_ends_the_acting_at_the_next_request(
    instance: RunningInstance,
) -> None:
    ctx, ministry = await _setup(instance)
    async with instance.client() as browser:
        await web_login(browser, "carla", PASSWORD)
        await _switch(browser, ministry.id)
        assert "U handelt als @ministry" in (await browser.get("/web/home")).text
        page = await browser.get("/web/compose")
        await _org(ctx, "remove", organisation="ministry", member="carla")
        home = await browser.get("/web/home")
        assert "U handelt als" not in home.text and "@ministry" not in home.text
        posted = await browser.post(
            "/web/compose",
            data={"csrf_token": csrf_of(page.text), "text": "Na vertrek", "visibility": "public"},
        )
        assert posted.status_code == 303
    async with ctx.db.read() as session:
        status = (await session.execute(select(Status).where(Status.text == "Na vertrek"))).scalar_one()
        carla = (await session.execute(select(Account).where(Account.username == "carla"))).scalar_one()
        assert status.account_id == carla.id


async def test_publishers_read_the_audit_trail_and_manage_members_in_the_browser(
    instance: RunningInstance, tmp_path: Path
) -> None:
    ctx, ministry = await _setup(instance)
    async with instance.client() as browser:  # an editor sees neither page
        await web_login(browser, "carla", PASSWORD)
        assert (await browser.get("/web/org/ministry/audit")).status_code == 403
        assert (await browser.get("/web/org/ministry/audit.csv")).status_code == 403
        page = await browser.get("/web/org/ministry/members")
        assert page.status_code == 403
        refused = await browser.post(
            "/web/org/ministry/members",
            data={"csrf_token": csrf_of(page.text), "username": "carla", "role": "publisher"},
        )
        assert refused.status_code == 403
    async with instance.client() as browser:
        await web_login(browser, "anna", PASSWORD)
        await _switch(browser, ministry.id)
        await _compose(browser, "Eerste bericht")
        page = await browser.get("/web/org/ministry/members")
        assert page.status_code == 200 and "@bram" in page.text and "@carla" in page.text
        token = csrf_of(page.text)
        form = {"username": "dirk", "role": "author"}
        assert (await browser.post("/web/org/ministry/members", data=form)).status_code == 403  # no token
        added = await browser.post("/web/org/ministry/members", data={"csrf_token": token, **form})
        assert added.status_code == 303
        changed = await browser.post(
            "/web/org/ministry/members", data={"csrf_token": token, "username": "bram", "role": "editor"}
        )
        assert changed.status_code == 303
        removed = await browser.post(
            "/web/org/ministry/members",
            data={"csrf_token": token, "username": "carla", "role": "editor", "remove": "1"},
        )
        assert removed.status_code == 303
        unknown = await browser.post(
            "/web/org/ministry/members", data={"csrf_token": token, "username": "niemand", "role": "author"}
        )
        assert unknown.status_code == 422
        members = (await browser.get("/web/org/ministry/members")).text
        assert "@dirk" in members and "@carla" not in members

        audit = await browser.get("/web/org/ministry/audit")
        assert audit.status_code == 200
        shown = audit.text
        # Newest first: the removal above the addition, the web session named.
        rows = [
            shown.index(f"<td>{action}</td>") for action in ("member.remove", "member.role", "Create Note")
        ]
        assert rows == sorted(rows)
        assert "web session" in shown and "Eerste bericht" in shown
        only_anna_posts = await browser.get("/web/org/ministry/audit?login=anna&action=Create+Note")
        assert (
            "<td>Create Note</td>" in only_anna_posts.text
            and "<td>member.remove</td>" not in only_anna_posts.text
        )
        assert (await browser.get("/web/org/ministry/audit?max_id=zz")).status_code == 400
        downloaded = await browser.get("/web/org/ministry/audit.csv")
        downloaded_json = await browser.get("/web/org/ministry/audit.json")
    out = tmp_path / "cli.csv"
    await _org(ctx, "audit", organisation="ministry", format="csv", out=str(out))
    assert downloaded.status_code == 200 and downloaded.text == out.read_text()
    out_json = tmp_path / "cli.json"
    await _org(ctx, "audit", organisation="ministry", format="json", out=str(out_json))
    assert downloaded_json.text == out_json.read_text()
    steps = [(e["login"], e["via"], e["action"]) for e in json.loads(out_json.read_text())][-3:]
    assert steps == [
        ("anna", "web session", "member.add"),
        ("anna", "web session", "member.role"),
        ("anna", "web session", "member.remove"),
    ]


async def test_drafts_are_edited_in_place_in_the_browser_and_through_the_api(
    instance: RunningInstance, tmp_path: Path
) -> None:
    ctx, ministry = await _setup(instance, review="on")
    async with instance.client() as browser:
        await web_login(browser, "bram", PASSWORD)
        await _switch(browser, ministry.id)
        await _compose(browser, "Concpet met tikfout")
        await _compose(browser, "Tweede concept")
    async with ctx.db.read() as session:
        first, second = (
            await session.execute(select(ScheduledStatus).order_by(ScheduledStatus.id))
        ).scalars()
    draft = {"organisation_id": str(ministry.id), "draft_id": str(first.id)}
    edited = {
        "text": "Concept zonder tikfout",
        "spoiler_text": "Verkeer",
        "visibility": "unlisted",
        "language": "nl",
    }

    async with instance.client() as browser:  # an editor who did not write it may not change it
        await web_login(browser, "carla", PASSWORD)
        page = await browser.get("/web/review")
        refused = await browser.post(
            "/web/review/edit", data={"csrf_token": csrf_of(page.text), **draft, **edited}
        )
        assert refused.status_code == 403
    async with instance.client() as browser:  # the publisher edits, then approves
        await web_login(browser, "anna", PASSWORD)
        page = await browser.get("/web/review")
        assert "Wijzig het concept" in page.text
        token = csrf_of(page.text)
        assert (await browser.post("/web/review/edit", data={**draft, **edited})).status_code == 403
        bad = await browser.post(
            "/web/review/edit", data={"csrf_token": token, **draft, **edited, "visibility": "everyone"}
        )
        assert bad.status_code == 422
        saved = await browser.post("/web/review/edit", data={"csrf_token": token, **draft, **edited})
        assert saved.status_code == 303
        approved = await browser.post(
            "/web/review", data={"csrf_token": token, **draft, "decision": "approve"}
        )
        assert approved.status_code == 303
    await drain(ctx.db, job_handlers(ctx))
    async with ctx.db.read() as session:
        published = (
            await session.execute(select(Status).where(Status.account_id == ministry.id))
        ).scalar_one()
    assert (published.text, published.spoiler_text, published.visibility, published.language) == (
        "Concept zonder tikfout",
        "Verkeer",
        "unlisted",
        "nl",
    )
    edit = next(e for e in await _audit(ctx, tmp_path) if e["action"] == "draft.edit")
    assert (edit["login"], edit["role"], edit["via"]) == ("anna", "publisher", "web session")
    assert edit["before"]["text"] == "Concpet met tikfout"  # type: ignore[index]
    assert edit["after"]["text"] == "Concept zonder tikfout"  # type: ignore[index]

    # Through the API (a documented extension of PUT /api/v1/scheduled_statuses/:id): the author corrects
    # their own draft; an editor who did not write it is refused.
    bram = await authorize_as(instance, "bram", ministry)
    carla = await authorize_as(instance, "carla", ministry)
    async with instance.client() as client:
        path = f"/api/v1/scheduled_statuses/{second.id}"
        refused_api = await client.put(path, json={"status": "Overgenomen"}, headers=bearer(carla))
        assert refused_api.status_code == 403
        changed = await client.put(path, json={"status": "Tweede concept, verbeterd"}, headers=bearer(bram))
        assert changed.status_code == 200, changed.text
        assert changed.json()["params"]["text"] == "Tweede concept, verbeterd"
        assert changed.json()["params"]["visibility"] == "public"  # not sent: kept
        moved = await client.put(path, json={"scheduled_at": "2099-01-01T00:00:00Z"}, headers=bearer(bram))
        assert moved.status_code == 422  # a draft's time is still the publisher's
    entries = [e for e in await _audit(ctx, tmp_path) if e["action"] == "draft.edit"]
    assert [(e["login"], e["via"].startswith("app ")) for e in entries] == [("anna", False), ("bram", True)]
