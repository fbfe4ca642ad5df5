"""`/web/admin/settings` over HTTP as a browser uses it, on SQLite and PostgreSQL: an admin's change of the
name, description, contact address, registration mode and texts holds at once for every consumer — the
instance API (v1, v2, the text endpoints), NodeInfo, the about page, the web sign-up and the API's sign-up —
and in a second server process on the same database; it is audited; a field resets to the config's value;
bad input is refused with 422 and changes nothing; moderators and users get 403."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from storage.models import AuditEntry, InstanceSettingOverride
from support.instance import RunningInstance, free_port, make_settings, serve_in_process
from support.oauth import app_token, bearer
from support.staff import ENGLISH, serve_with_staff, signed_in
from support.web import PASSWORD, csrf_of, post_form

PAGE = "/web/admin/settings"
CONFIG_NAME = "Plein van de config"
NEW_NAME = "Gemeente Voorbeeld"


@pytest.fixture
async def instance(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    """An instance on each backend, registration closed and an about file in its config, with alice (a
    user), `beheer` (an admin) and `moder` (a moderator)."""
    about = tmp_path / "about.md"
    about.write_text("Over deze server, uit het **configbestand**.\n")
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        **{
            "instance.name": CONFIG_NAME,
            "instance.about_file": str(about),
            "registration.mode": "closed",
            "registration.message": "",
        },
    )
    async with serve_with_staff(settings) as running:
        yield running


@asynccontextmanager
async def _second_process(instance: RunningInstance, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """Another server of the same instance on the same database (its own engine and Context, as another
    `plein serve` process has), and a client of it."""
    folder = tmp_path / "second"
    folder.mkdir()
    server = replace(instance.settings.server, listen_port=free_port(), data_dir=folder)
    settings = replace(instance.settings, server=server)
    async with (
        serve_in_process(settings) as second,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{second.settings.server.listen_port}") as client,
    ):
        yield client


async def _stored(instance: RunningInstance) -> tuple[int, int]:
    """Overrides and audit entries stored."""
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        overrides = await session.scalar(select(func.count()).select_from(InstanceSettingOverride))
        entries = await session.scalar(select(func.count()).select_from(AuditEntry))
    return int(overrides or 0), int(entries or 0)


async def _api_sign_up(client: httpx.AsyncClient, username: str) -> httpx.Response:
    return await client.post(
        "/api/v1/accounts",
        data={
            "username": username,
            "email": f"{username}@example.test",
            "password": PASSWORD,
            "agreement": "true",
            "locale": "nl",
        },
        headers=bearer(await app_token(client)),
    )


async def _what_apps_see(client: httpx.AsyncClient) -> tuple[str, str, bool, bool, str, bool]:
    """(v2 title, v1 title, v2 registrations enabled, v1 registrations, NodeInfo name, NodeInfo open)."""
    v2 = (await client.get("/api/v2/instance")).json()
    v1 = (await client.get("/api/v1/instance")).json()
    nodeinfo = (await client.get("/nodeinfo/2.0")).json()
    return (
        v2["title"],
        v1["title"],
        v2["registrations"]["enabled"],
        v1["registrations"],
        nodeinfo["metadata"]["nodeName"],
        nodeinfo["openRegistrations"],
    )


async def test_admin_changes_the_settings_and_every_consumer_follows_at_once(
    instance: RunningInstance, tmp_path: Path
) -> None:
    async with instance.client() as anyone, _second_process(instance, tmp_path) as elsewhere:
        assert await _what_apps_see(anyone) == (CONFIG_NAME, CONFIG_NAME, False, False, CONFIG_NAME, False)
        assert (await _api_sign_up(anyone, "vroeg")).status_code == 403
        assert 'name="username"' not in (await anyone.get("/auth/sign_up")).text

        async with signed_in(instance, "beheer") as admin:
            page = await admin.get(PAGE)
            assert page.status_code == 200
            assert (
                f'value="{CONFIG_NAME}"' in page.text
                and "Every setting has its configured value." in page.text
            )
            saved = await admin.post(
                PAGE,
                data={
                    "csrf_token": csrf_of(page.text),
                    "name": f"  {NEW_NAME} ",
                    "description": "De sociale plek van de gemeente.",
                    "contact_email": "webteam@voorbeeld.example",
                    "registration_mode": "open",
                    "registration_message": "Welkom, inwoners!",
                    "about": page_text_of(page.text, "about"),  # unchanged: stays the config's
                    "terms_of_service": "# Voorwaarden\n\nWees aardig.",
                    "privacy_policy": "",
                },
            )
            assert saved.status_code == 303 and saved.headers["location"] == f"{PAGE}?done=saved"
            shown = await admin.get(saved.headers["location"])
            assert "The settings are saved and in force." in shown.text
            assert f"Reset {'Server name'} to the configured value" in shown.text
            assert "Reset About this server (Markdown)" not in shown.text  # not changed, not overridden

            audit = await admin.get("/web/admin/audit", params={"action": "instance.settings"})
            assert "<td>@beheer</td>" in audit.text and "<td>instance.settings</td>" in audit.text
            assert NEW_NAME in audit.text

        for client in (anyone, elsewhere):  # this process and another one on the same database
            assert await _what_apps_see(client) == (NEW_NAME, NEW_NAME, True, True, NEW_NAME, True)
            v2 = (await client.get("/api/v2/instance")).json()
            assert v2["registrations"]["approval_required"] is False
            assert v2["registrations"]["message"] == "<p>Welkom, inwoners!</p>"
            assert v2["description"] == "De sociale plek van de gemeente."
            assert v2["contact"]["email"] == "webteam@voorbeeld.example"
            assert v2["configuration"]["urls"]["terms_of_service"].endswith("/terms-of-service")
            terms = (await client.get("/api/v1/instance/terms_of_service")).json()
            assert terms["content"].startswith("<h1>Voorwaarden</h1>")
            about_text = (await client.get("/api/v1/instance/extended_description")).json()
            assert "<strong>configbestand</strong>" in about_text["content"]
            assert (await client.get("/api/v1/instance/privacy_policy")).status_code == 404

        about = await anyone.get("/about", headers=ENGLISH)
        assert NEW_NAME in about.text and "De sociale plek van de gemeente." in about.text
        assert "webteam@voorbeeld.example" in about.text and "/terms-of-service" in about.text
        assert "Wees aardig." in (await anyone.get("/terms-of-service")).text
        sign_up_page = await elsewhere.get("/auth/sign_up")
        assert 'name="username"' in sign_up_page.text and "Welkom, inwoners!" in sign_up_page.text
        assert (await _api_sign_up(elsewhere, "nieuwkomer")).status_code == 200

        async with signed_in(instance, "beheer") as admin:
            closed = await post_form(admin, PAGE, PAGE, {"registration_mode": "closed"})
            assert closed.status_code == 303
            assert (await _api_sign_up(elsewhere, "te_laat")).status_code == 403
            assert 'name="username"' not in (await anyone.get("/auth/sign_up")).text
            same = await post_form(admin, PAGE, PAGE, {"registration_mode": "closed"})
            assert same.headers["location"] == f"{PAGE}?done=unchanged"

            # Reset the name: the config's again, everywhere; the mode stays as the admin set it.
            reset = await post_form(admin, PAGE, f"{PAGE}/reset", {"field": "name"})
            assert reset.status_code == 303
            assert (
                "Server name is back to the configured value."
                in (await admin.get(reset.headers["location"])).text
            )
            assert (await _what_apps_see(elsewhere))[:2] == (CONFIG_NAME, CONFIG_NAME)
            assert f"<title>About {CONFIG_NAME}</title>" in (await anyone.get("/about", headers=ENGLISH)).text
            assert (
                await post_form(admin, PAGE, f"{PAGE}/reset", {"field": "registration_mode"})
            ).status_code == 303
            assert (await anyone.get("/api/v2/instance")).json()["registrations"]["enabled"] is False
            resets = await admin.get("/web/admin/audit", params={"action": "instance.settings.reset"})
            assert resets.text.count("<td>instance.settings.reset</td>") == 2


def page_text_of(page_html: str, field: str) -> str:
    """The text a textarea of the settings form holds (as a browser would post it back)."""
    found = re.search(rf'<textarea id="setting-{field}"[^>]*>(.*?)</textarea>', page_html, re.S)
    assert found is not None
    return (
        found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"').replace("&amp;", "&")
    )


BAD_VALUES = [
    ({"registration_mode": "everyone"}, "Who may sign up is not valid."),
    ({"name": "   "}, "Server name cannot be empty."),
    ({"name": "x" * 101}, "Server name is too long."),
    ({"description": "x" * 1001}, "Short description is too long."),
    ({"contact_email": "not an address"}, "Contact e-mail address is not valid."),
    # Longer than the form reader keeps: refused, never stored cut short.
    ({"terms_of_service": "x" * 20_001}, "Terms of service (Markdown) is too long."),
]


async def test_bad_values_are_refused_and_nothing_changes(instance: RunningInstance) -> None:
    async with signed_in(instance, "beheer") as admin:
        for fields, message in BAD_VALUES:
            # A good value beside the bad one is not stored either.
            refused = await post_form(admin, PAGE, PAGE, {"description": "Goed", **fields})
            assert refused.status_code == 422, fields
            assert message in refused.text and "Nothing was saved." in refused.text
        unknown = await post_form(admin, PAGE, f"{PAGE}/reset", {"field": "database_url"})
        assert unknown.status_code == 422 and "That setting is not known." in unknown.text
        no_token = await admin.post(PAGE, data={"name": NEW_NAME})
        assert no_token.status_code == 403
    assert await _stored(instance) == (0, 0)
    async with instance.client() as anyone:
        assert (await anyone.get("/api/v2/instance")).json()["title"] == CONFIG_NAME


async def test_only_admins_see_and_change_the_settings(instance: RunningInstance) -> None:
    async with instance.client(headers=ENGLISH) as visitor:
        response = await visitor.get(PAGE)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    for name in ("moder", "alice"):
        async with signed_in(instance, name) as staff:
            assert (await staff.get(PAGE)).status_code == 403
            token = csrf_of((await staff.get("/about")).text)
            posted = await staff.post(PAGE, data={"csrf_token": token, "name": "Overgenomen"})
            assert posted.status_code == 403
            reset = await staff.post(f"{PAGE}/reset", data={"csrf_token": token, "field": "name"})
            assert reset.status_code == 403
    async with signed_in(instance, "moder") as moderator:
        index = await moderator.get("/web/admin")
        assert 'href="/web/admin/settings"' in index.text  # the index lists it; the page itself says 403
    assert await _stored(instance) == (0, 0)


async def test_admin_adds_rewords_moves_and_removes_rules(instance: RunningInstance) -> None:
    rules_url = f"{PAGE}/rules"

    async def rules_apps_see() -> list[tuple[str, str]]:
        async with instance.client() as anyone:
            listed = (await anyone.get("/api/v1/instance/rules")).json()
        return [(rule["text"], rule["hint"]) for rule in listed]

    async with signed_in(instance, "beheer") as admin:
        for text in ("Geen reclame", "Wees vriendelijk"):
            added = await post_form(admin, PAGE, rules_url, {"action": "add", "text": text, "hint": ""})
            assert added.status_code == 303 and added.headers["location"] == f"{PAGE}?done=rule_add#rules"
        first, second = [rule["id"] for rule in (await admin.get("/api/v1/instance/rules")).json()]
        edited = await post_form(
            admin,
            PAGE,
            f"{rules_url}/{first}",
            {"action": "edit", "text": "Geen reclame of spam", "hint": "Ook geen verkapte reclame."},
        )
        assert edited.status_code == 303
        assert (await post_form(admin, PAGE, f"{rules_url}/{second}", {"action": "up"})).status_code == 303
        assert await rules_apps_see() == [
            ("Wees vriendelijk", ""),
            ("Geen reclame of spam", "Ook geen verkapte reclame."),
        ]
        page = await admin.get(PAGE)
        assert page.text.index('value="Wees vriendelijk"') < page.text.index('value="Geen reclame of spam"')
        assert "Move rule 2 up" in page.text and "Move rule 2 down" not in page.text

        # Refused: a blank or over-long text, an unknown change, a rule not in force; nothing changes.
        blank = await post_form(admin, PAGE, f"{rules_url}/{first}", {"action": "edit", "text": "  "})
        assert blank.status_code == 422 and "A rule needs a text." in blank.text
        too_long = await post_form(admin, PAGE, rules_url, {"action": "add", "text": "x" * 301})
        assert too_long.status_code == 422 and "at most 300 characters" in too_long.text
        odd = await post_form(admin, PAGE, f"{rules_url}/{first}", {"action": "sideways"})
        assert odd.status_code == 422
        assert (await post_form(admin, PAGE, f"{rules_url}/999999", {"action": "up"})).status_code == 404
        assert len(await rules_apps_see()) == 2

        removed = await post_form(admin, PAGE, f"{rules_url}/{second}", {"action": "remove"})
        assert removed.status_code == 303
        assert await rules_apps_see() == [("Geen reclame of spam", "Ook geen verkapte reclame.")]
        audit = (await admin.get("/web/admin/audit")).text
        for action in ("rule.add", "rule.edit", "rule.move", "rule.remove"):
            assert f"<td>{action}</td>" in audit, action

    async with signed_in(instance, "moder") as moderator:
        token = csrf_of((await moderator.get("/about")).text)
        response = await moderator.post(
            rules_url, data={"csrf_token": token, "action": "add", "text": "Mijn regel"}
        )
        assert response.status_code == 403
        no_token = await moderator.post(f"{rules_url}/{first}", data={"action": "remove"})
        assert no_token.status_code == 403
    assert len(await rules_apps_see()) == 1
