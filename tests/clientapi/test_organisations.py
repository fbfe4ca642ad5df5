"""Organisation accounts, through the real endpoints on both backends: staff logins choose on the OAuth
consent page to act as the organisation, then post as it from Mastodon.py; roles limit what each may do; the
audit trail names who did each step (with before/after of an edit), refuses updates in the database itself,
and is exported by the CLI; a removed member's token stops at the next request; the organisation's own
password stops working."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
from pathlib import Path

import pytest
from checked import call
from mastodon import Mastodon, MastodonAPIError
from sqlalchemy import text

from plein.admin import AdminError
from plein.jobs import job_handlers
from plein.organisation_commands import organisation_command
from storage.context import Context
from storage.models import Account
from storage.worker import drain
from support.instance import RunningInstance
from support.oauth import authorize, bearer, form_fields, make_user, register_app
from support.web import csrf_of, web_login

PASSWORD = "correct horse battery staple"


async def _org(ctx: Context, action: str, **values: object) -> int:
    return await organisation_command(ctx, argparse.Namespace(action=action, **values))


async def _setup(instance: RunningInstance) -> tuple[Context, Account, dict[str, Account]]:
    ctx = instance.ctx
    assert ctx is not None
    ministry = await make_user(ctx, "ministry")
    staff = {name: await make_user(ctx, name) for name in ("anna", "bram", "carla")}
    await _org(ctx, "create", username="ministry", review="off")
    await _org(ctx, "add", organisation="ministry", member="anna", role="publisher")
    await _org(ctx, "add", organisation="ministry", member="bram", role="author")
    await _org(ctx, "add", organisation="ministry", member="carla", role="editor")
    return ctx, ministry, staff


async def _token_as(instance: RunningInstance, login: str, account: Account) -> str:
    async with instance.client() as browser:
        return await authorize(browser, username=login, password=PASSWORD, act_as=str(account.id))


async def test_staff_act_as_the_organisation_and_the_audit_trail_names_them(
    instance_on_each_backend: RunningInstance, tmp_path: Path
) -> None:
    instance = instance_on_each_backend
    ctx, ministry, staff = await _setup(instance)
    anna_token = await _token_as(instance, "anna", ministry)
    bram_token = await _token_as(instance, "bram", ministry)
    anna = Mastodon(access_token=anna_token, api_base_url=instance.base_url)
    bram = Mastodon(access_token=bram_token, api_base_url=instance.base_url)

    me = await asyncio.to_thread(anna.account_verify_credentials)
    assert me["username"] == "ministry"
    first = await asyncio.to_thread(anna.status_post, "Kamerbrief verzonden")
    second = await asyncio.to_thread(bram.status_post, "Open dag op vrijdag")
    assert first["account"]["id"] == second["account"]["id"] == str(ministry.id)
    await asyncio.to_thread(anna.status_update, first["id"], "Kamerbrief verzonden (bijlage toegevoegd)")
    await asyncio.to_thread(anna.account_update_credentials, display_name="Ministerie")

    # An author may post but not change the profile, boost, or follow as the organisation.
    with pytest.raises(MastodonAPIError) as refused:
        await asyncio.to_thread(bram.account_update_credentials, display_name="Bram's ministry")
    assert "author" in str(refused.value)
    with pytest.raises(MastodonAPIError):
        await asyncio.to_thread(bram.status_reblog, first["id"])
    with pytest.raises(MastodonAPIError):
        await asyncio.to_thread(bram.account_follow, staff["anna"].id)
    async with instance.client(headers=bearer(bram_token)) as api:
        answer = await api.patch("/api/v1/accounts/update_credentials", data={"note": "x"})
        assert answer.status_code == 403 and "error" in answer.json()

    # Removing a member ends their token for the organisation at the next request.
    await _org(ctx, "remove", organisation="ministry", member="bram")
    async with instance.client(headers=bearer(bram_token)) as api:
        gone = await api.get("/api/v1/accounts/verify_credentials")
        assert gone.status_code == 401 and "error" in gone.json()
    async with instance.client(headers=bearer(anna_token)) as api:
        assert (await call(api, "GET", "/api/v1/accounts/verify_credentials"))["username"] == "ministry"

    out = tmp_path / "audit.json"
    await _org(ctx, "audit", organisation="ministry", format="json", out=str(out))
    entries = json.loads(out.read_text())
    steps = [(entry["login"], entry["role"], entry["action"]) for entry in entries]
    cli = entries[0]["login"]
    assert steps == [
        (cli, "admin", "organisation.create"),
        (cli, "admin", "member.add"),
        (cli, "admin", "member.add"),
        (cli, "admin", "member.add"),
        ("anna", "publisher", "Create Note"),
        ("bram", "author", "Create Note"),
        ("anna", "publisher", "Update Note"),
        ("anna", "publisher", "Update Organization"),
        (cli, "admin", "member.remove"),
    ]
    edit = entries[6]
    assert edit["target"] == first["uri"] and edit["via"].startswith("app Test app")
    assert "bijlage" not in edit["before"]["content"] and "bijlage" in edit["after"]["content"]
    assert entries[7]["after"]["name"] == "Ministerie"
    assert entries[8]["before"] == {"role": "author"}

    await _org(ctx, "audit", organisation="ministry", format="csv", out=str(tmp_path / "audit.csv"))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "audit.csv").read_text())))
    assert [row["login"] for row in rows[4:6]] == ["anna", "bram"]

    # Append-only in the database itself.
    with pytest.raises(Exception, match="append-only"):
        async with ctx.db.transaction() as session:
            await session.execute(text("UPDATE organisation_audit SET login = 'someone else'"))


async def test_the_organisation_password_stops_and_choices_are_checked(instance: RunningInstance) -> None:
    ctx, ministry, staff = await _setup(instance)
    async with instance.client() as browser:
        # The organisation's own password (the shared one teams used) no longer works.
        with pytest.raises(AssertionError):
            await authorize(browser, username="ministry", password=PASSWORD)
    # A login that is not a member cannot pick the organisation, even by sending its id.
    await make_user(ctx, "olaf")
    async with instance.client() as browser:
        app = await register_app(browser)
        query = {"client_id": app.client_id, "redirect_uri": app.redirect_uri, "response_type": "code"}
        page = await browser.get("/oauth/authorize", params={**query, "scope": app.scopes})
        answer = await browser.post(
            "/oauth/authorize",
            data={
                **form_fields(page.text),
                "username": "olaf",
                "password": PASSWORD,
                "act_as": str(ministry.id),
                "decision": "approve",
            },
        )
        assert (
            answer.status_code == 403 and "U bent geen lid van dat account." in answer.text
        )  # nl: the default
    # A member choosing their own account gets a token for it, not for the organisation.
    async with instance.client() as browser:
        own = await authorize(browser, username="carla", password=PASSWORD, act_as=str(staff["carla"].id))
    async with instance.client(headers=bearer(own)) as api:
        assert (await call(api, "GET", "/api/v1/accounts/verify_credentials"))["username"] == "carla"
    # Unknown organisations and roles are refused by the CLI without a change.
    with pytest.raises(AdminError):
        await _org(ctx, "add", organisation="carla", member="anna", role="author")
    with pytest.raises(AdminError):
        await _org(ctx, "remove", organisation="ministry", member="olaf")


async def test_an_authors_post_waits_for_a_publisher(
    instance_on_each_backend: RunningInstance, tmp_path: Path
) -> None:
    instance = instance_on_each_backend
    ctx, ministry, staff = await _setup(instance)
    await _org(ctx, "create", username="ministry", review="on")
    bram = Mastodon(access_token=await _token_as(instance, "bram", ministry), api_base_url=instance.base_url)
    anna_token = await _token_as(instance, "anna", ministry)
    carla = Mastodon(
        access_token=await _token_as(instance, "carla", ministry), api_base_url=instance.base_url
    )

    # The author's post becomes a draft, answered as a ScheduledStatus (what apps show for a later post).
    draft = await asyncio.to_thread(bram.status_post, "Persbericht: nieuwe regeling")
    assert draft["params"]["text"] == "Persbericht: nieuwe regeling" and draft.get("account") is None
    async with instance.client(headers=bearer(anna_token)) as api:
        assert await call(api, "GET", f"/api/v1/accounts/{ministry.id}/statuses") == []
        listed = await call(api, "GET", "/api/v1/scheduled_statuses")
        assert [item["id"] for item in listed] == [draft["id"]]
        moved = await api.put(
            f"/api/v1/scheduled_statuses/{draft['id']}", data={"scheduled_at": "2030-01-01T00:00:00Z"}
        )
        assert moved.status_code == 422 and "review" in moved.json()["error"]
    # Only a publisher approves.
    async with instance.client(headers={"Authorization": f"Bearer {bram.access_token}"}) as api:
        refused = await api.post(f"/api/v1/scheduled_statuses/{draft['id']}/approve")
        assert refused.status_code == 403 and "publisher" in refused.json()["error"]
    async with instance.client(headers=bearer(anna_token)) as api:
        approved = await api.post(f"/api/v1/scheduled_statuses/{draft['id']}/approve")  # a Plein extension
        assert approved.status_code == 200 and approved.json()["id"] == draft["id"]
    await drain(ctx.db, job_handlers(ctx))
    async with instance.client(headers=bearer(anna_token)) as api:
        published = await call(api, "GET", f"/api/v1/accounts/{ministry.id}/statuses")
        assert [status["content"] for status in published] == ["<p>Persbericht: nieuwe regeling</p>"]
        assert await call(api, "GET", "/api/v1/scheduled_statuses") == []

    # A returned draft reaches its author, as a direct message from the organisation, with the comment.
    second = await asyncio.to_thread(bram.status_post, "Te vroeg bericht")
    async with instance.client(headers=bearer(anna_token)) as api:
        empty = await api.post(f"/api/v1/scheduled_statuses/{second['id']}/return", data={"comment": " "})
        assert empty.status_code == 422
        returned = await api.post(
            f"/api/v1/scheduled_statuses/{second['id']}/return", data={"comment": "Wacht op de Kamer"}
        )
        assert returned.status_code == 200
        again = await api.post(f"/api/v1/scheduled_statuses/{second['id']}/approve")
        assert again.status_code == 422
    async with instance.client() as browser:
        own = await authorize(browser, username="bram", password=PASSWORD, act_as=str(staff["bram"].id))
    async with instance.client(headers=bearer(own)) as api:
        conversations = await call(api, "GET", "/api/v1/conversations")
        assert any("Wacht op de Kamer" in item["last_status"]["content"] for item in conversations)

    # An editor publishes directly.
    direct = await asyncio.to_thread(carla.status_post, "Direct gepubliceerd")
    assert direct["account"]["id"] == str(ministry.id)

    out = tmp_path / "audit.json"
    await _org(ctx, "audit", organisation="ministry", format="json", out=str(out))
    steps = [(entry["login"], entry["action"]) for entry in json.loads(out.read_text())]
    review_steps = [step for step in steps if step[1].startswith("draft.") or step[1] == "Create Note"]
    assert review_steps == [
        ("bram", "draft.submit"),
        ("anna", "draft.approve"),
        ("anna", "Create Note"),
        ("bram", "draft.submit"),
        ("anna", "draft.return"),
        ("anna", "Create Note"),  # the direct message to the author
        ("carla", "Create Note"),
    ]


async def test_a_publisher_reviews_drafts_in_the_browser(instance: RunningInstance, tmp_path: Path) -> None:
    ctx, ministry, _staff = await _setup(instance)
    await _org(ctx, "create", username="ministry", review="on")
    bram = Mastodon(access_token=await _token_as(instance, "bram", ministry), api_base_url=instance.base_url)
    first = await asyncio.to_thread(bram.status_post, "Wegwerkzaamheden op de A12")
    second = await asyncio.to_thread(bram.status_post, "Nog niet af")

    async with instance.client() as carla_browser:  # an editor is no reviewer
        await web_login(carla_browser, "carla", PASSWORD)
        page = await carla_browser.get("/web/review")
        assert "Wegwerkzaamheden" not in page.text
        refused = await carla_browser.post(
            "/web/review",
            data={
                "csrf_token": csrf_of(page.text),
                "organisation_id": str(ministry.id),
                "draft_id": first["id"],
                "decision": "approve",
            },
        )
        assert refused.status_code == 403
    async with instance.client() as browser:
        await web_login(browser, "anna", PASSWORD)
        page = await browser.get("/web/review")
        assert (
            page.status_code == 200
            and "Wegwerkzaamheden op de A12" in page.text
            and "Nog niet af" in page.text
        )
        token = csrf_of(page.text)
        draft = {"organisation_id": str(ministry.id), "draft_id": first["id"], "decision": "approve"}
        assert (await browser.post("/web/review", data=draft)).status_code == 403  # no form token
        approved = await browser.post("/web/review", data={"csrf_token": token, **draft})
        assert approved.status_code == 303
        returned = await browser.post(
            "/web/review",
            data={
                "csrf_token": token,
                "organisation_id": str(ministry.id),
                "draft_id": second["id"],
                "decision": "return",
                "comment": "Eerst de woordvoerder",
            },
        )
        assert returned.status_code == 303
        after = await browser.get("/web/review")
        assert "Wegwerkzaamheden" not in after.text and "Nog niet af" not in after.text
    await drain(ctx.db, job_handlers(ctx))
    async with instance.client() as reader:
        statuses = (await reader.get(f"/api/v1/accounts/{ministry.id}/statuses")).json()
    assert [status["content"] for status in statuses] == ["<p>Wegwerkzaamheden op de A12</p>"]
    out = tmp_path / "audit.json"
    await _org(ctx, "audit", organisation="ministry", format="json", out=str(out))
    steps = [(e["login"], e["via"], e["action"]) for e in json.loads(out.read_text()) if e["login"] == "anna"]
    assert steps == [
        ("anna", "web session", "draft.approve"),
        ("anna", "web session", "draft.return"),
        ("anna", "web session", "Create Note"),  # the comment, as a direct message to the author
        ("anna", "web session", "Create Note"),  # the approved draft, published by its job
    ]
