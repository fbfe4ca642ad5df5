"""The verified-agency mark of a local organisation, through the real endpoints: set with the CLI (and
written to the moderation audit log and the organisation's own audit trail), published in the actor as
`PropertyValue` fields and the `governmentOrganization` property, shown in the Account entity as a field
with `verified_at` (validated against the OpenAPI description) and as a badge on the web profile; an
unmarked account shows none of it, and clearing the mark takes it all away. The mark's "Website" field gets
`verified_at` once the official website (https, served on 127.0.0.1 by a private CA the instance trusts)
links back to the profile with rel="me", through the same link verification as any profile field."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from checked import call
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from outbox.actions import post_status
from plein.admin import account_command
from plein.jobs import job_handlers
from plein.organisation_commands import organisation_command
from storage.agency import MARK_FIELD_NAME, WEBSITE_FIELD_NAME
from storage.context import Context
from storage.models import AuditEntry, OrganisationAuditEntry
from storage.worker import drain
from support.instance import RunningInstance, free_port, make_settings, serve_app, serve_in_process
from support.oauth import make_user
from support.tls import PrivateCA

TOOI = "https://identifier.overheid.nl/tooi/id/ministerie/mnre1034"
WEBSITE = "https://www.rijksoverheid.nl"
AS2 = {"Accept": "application/activity+json"}


async def _agency(ctx: Context, username: str, **values: object) -> int:
    options = {"id": None, "website": None, "clear": False, **values}
    return await account_command(ctx, argparse.Namespace(action="agency", username=username, **options))


async def test_marked_organisation_is_published_and_shown(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    ministry = await make_user(ctx, "ministry")
    plain = await make_user(ctx, "citizen")
    await organisation_command(ctx, argparse.Namespace(action="create", username="ministry", review="off"))
    assert await _agency(ctx, "ministry", id=TOOI, website=WEBSITE) == 0
    await post_status(ctx, ministry, text="Kamerbrief verzonden")

    async with instance.client() as client:
        actor = (await client.get("/users/ministry", headers=AS2)).json()
        assert actor["type"] == "Organization"
        assert {"type": "PropertyValue", "name": MARK_FIELD_NAME, "value": TOOI} in actor["attachment"]
        website = next(item for item in actor["attachment"] if item["name"] == WEBSITE_FIELD_NAME)
        assert f'href="{WEBSITE}"' in website["value"] and "me" in website["value"]
        assert actor["governmentOrganization"] == {
            "type": "GovernmentOrganization",
            "identifier": TOOI,
            "url": WEBSITE,
        }
        context = actor["@context"][-1]
        assert context["governmentOrganization"].startswith("plein:") and "plein" in context

        entity = await call(client, "GET", f"/api/v1/accounts/{ministry.id}")
        mark = next(field for field in entity["fields"] if field["name"] == MARK_FIELD_NAME)
        assert mark["value"] == TOOI and mark["verified_at"]
        assert any(field["name"] == WEBSITE_FIELD_NAME for field in entity["fields"])
        # Statuses carry their author's entity from the listed columns: the mark is there too.
        statuses = await call(client, "GET", f"/api/v1/accounts/{ministry.id}/statuses")
        author_mark = next(
            field for field in statuses[0]["account"]["fields"] if field["name"] == MARK_FIELD_NAME
        )
        assert author_mark["verified_at"] == mark["verified_at"]
        other = await call(client, "GET", f"/api/v1/accounts/{plain.id}")
        assert other["fields"] == []

        page = (await client.get("/@ministry", headers={"Accept-Language": "en"})).text
        assert 'class="agency-mark"' in page and "Verified government organisation" in page
        assert 'class="agency-mark"' not in (await client.get("/@citizen")).text
        dutch = (await client.get("/@ministry", headers={"Accept-Language": "nl"})).text
        assert "Geverifieerde overheidsorganisatie" in dutch

    async with ctx.db.read() as session:
        audit = list(
            (await session.execute(select(AuditEntry).where(AuditEntry.action == "account.agency"))).scalars()
        )
        trail = list(
            (
                await session.execute(
                    select(OrganisationAuditEntry).where(OrganisationAuditEntry.action == "account.agency")
                )
            ).scalars()
        )
    assert len(audit) == 1 and audit[0].target == ministry.uri and audit[0].details["after"]["id"] == TOOI
    assert len(trail) == 1 and trail[0].via == "cli" and trail[0].after == {"id": TOOI, "website": WEBSITE}

    assert await _agency(ctx, "ministry", clear=True) == 0
    async with instance.client() as client:
        actor = (await client.get("/users/ministry", headers=AS2)).json()
        assert "governmentOrganization" not in actor
        assert all(item["name"] != MARK_FIELD_NAME for item in actor["attachment"])
        entity = await call(client, "GET", f"/api/v1/accounts/{ministry.id}")
        assert all(field["name"] != MARK_FIELD_NAME for field in entity["fields"])
        assert 'class="agency-mark"' not in (await client.get("/@ministry")).text


def _links_to(url: str) -> str:
    return f'<html><body><a rel="me" href="{url}">Wij op het fediverse</a></body></html>'


def _official_site(pages: dict[str, str]) -> Starlette:
    """An agency's website serving `pages` (path → HTML), which the test may change while it runs."""

    async def page(request: Request) -> Response:
        body = pages.get(request.url.path)
        return HTMLResponse(body) if body else HTMLResponse("gone", status_code=404)

    return Starlette(routes=[Route("/{path:path}", page)])


@pytest.fixture
async def site_and_instance(
    tmp_path: Path, database_url: str
) -> AsyncIterator[tuple[str, dict[str, str], RunningInstance]]:
    """The official website over https on 127.0.0.1 (a private CA the instance trusts), its pages (the home
    page links back to @ministry with rel="me", /elders to someone else) and an instance."""
    ca = PrivateCA(tmp_path)
    leaf = ca.issue("127.0.0.1")
    settings = make_settings(
        tmp_path, database_url=database_url, **{"federation.ca_bundle": str(ca.certificate)}
    )
    port = free_port()
    pages = {
        "/": _links_to(f"{settings.base_url}/@ministry"),
        "/elders": _links_to("https://elders.example/@x"),
    }
    async with (
        serve_app(_official_site(pages), port, ssl_certfile=str(leaf.certificate), ssl_keyfile=str(leaf.key)),
        serve_in_process(settings) as running,
    ):
        yield f"https://127.0.0.1:{port}", pages, running


def _website_field(entity: dict) -> dict:
    return next(field for field in entity["fields"] if field["name"] == WEBSITE_FIELD_NAME)


async def test_the_official_website_is_verified_by_its_rel_me_link(
    site_and_instance: tuple[str, dict[str, str], RunningInstance],
) -> None:
    site, pages, instance = site_and_instance
    ctx = instance.ctx
    assert ctx is not None
    ministry = await make_user(ctx, "ministry")
    assert await _agency(ctx, "ministry", id=TOOI, website=f"{site}/") == 0
    await post_status(ctx, ministry, text="Kamerbrief verzonden")
    async with instance.client() as client:
        assert (
            _website_field(await call(client, "GET", f"/api/v1/accounts/{ministry.id}"))["verified_at"]
            is None
        )
    assert await drain(ctx.db, job_handlers(ctx)) >= 1  # the link verification the mark enqueued
    async with instance.client() as client:
        entity = await call(client, "GET", f"/api/v1/accounts/{ministry.id}")
        verified_at = _website_field(entity)["verified_at"]
        assert verified_at and f'href="{site}/"' in _website_field(entity)["value"]
        # Statuses carry their author's entity from the listed columns: verified there too.
        statuses = await call(client, "GET", f"/api/v1/accounts/{ministry.id}/statuses")
        assert _website_field(statuses[0]["account"])["verified_at"] == verified_at

    # A new website starts unverified, and one that does not link back stays so.
    assert await _agency(ctx, "ministry", id=TOOI, website=f"{site}/elders") == 0
    await drain(ctx.db, job_handlers(ctx))
    async with instance.client() as client:
        entity = await call(client, "GET", f"/api/v1/accounts/{ministry.id}")
        assert _website_field(entity)["verified_at"] is None
    # Only the website changing: the identifier's own mark stays verified.
    assert next(field for field in entity["fields"] if field["name"] == MARK_FIELD_NAME)["verified_at"]
    # Once the site links back, giving the mark again checks the unverified website again.
    pages["/elders"] = _links_to(f"{instance.base_url}/@ministry")
    assert await _agency(ctx, "ministry", id=TOOI, website=f"{site}/elders") == 0
    assert await drain(ctx.db, job_handlers(ctx)) == 1
    async with instance.client() as client:
        entity = await call(client, "GET", f"/api/v1/accounts/{ministry.id}")
        assert _website_field(entity)["verified_at"] is not None
