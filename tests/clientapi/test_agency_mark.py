"""The verified-agency mark of a local organisation, through the real endpoints: set with the CLI (and
written to the moderation audit log and the organisation's own audit trail), published in the actor as
`PropertyValue` fields and the `governmentOrganization` property, shown in the Account entity as a field
with `verified_at` (validated against the OpenAPI description) and as a badge on the web profile; an
unmarked account shows none of it, and clearing the mark takes it all away."""

from __future__ import annotations

import argparse

from checked import call
from sqlalchemy import select

from outbox.actions import post_status
from plein.admin import account_command
from plein.organisation_commands import organisation_command
from storage.agency import MARK_FIELD_NAME, WEBSITE_FIELD_NAME
from storage.context import Context
from storage.models import AuditEntry, OrganisationAuditEntry
from support.instance import RunningInstance
from support.oauth import make_user

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
