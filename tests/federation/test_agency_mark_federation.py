"""The verified-agency mark between real Plein instances: B trusts A's instance, so A's marked organisation
shows verified on B (Account entity validated against the OpenAPI description); C's account carries the
same property, signed and served by its own real instance, but B does not trust C: B shows no verified mark
for it, only an ordinary unverified field. When A clears the mark, its `Update` to followers takes it away
on B."""

from __future__ import annotations

import argparse
import dataclasses

import httpx

from outbox.actions import follow
from plein.admin import account_command
from storage.agency import MARK_FIELD_NAME
from support.federation import Instance, settle
from support.openapi import validate_response

TOOI_A = "https://identifier.overheid.nl/tooi/id/ministerie/mnre1034"
TOOI_C = "https://identifier.overheid.nl/tooi/id/ministerie/mnre1025"


async def _agency(instance: Instance, username: str, **values: object) -> None:
    options = {"id": None, "website": None, "clear": False, **values}
    args = argparse.Namespace(action="agency", username=username, **options)
    assert await account_command(instance.ctx, args) == 0


def _trusting(instance: Instance, *hosts: str) -> None:
    settings = instance.ctx.settings
    federation = dataclasses.replace(settings.federation, trusted_government_instances=hosts)
    instance.ctx.settings = dataclasses.replace(settings, federation=federation)


async def _entity(instance: Instance, account_id: int) -> dict:
    async with httpx.AsyncClient(base_url=instance.running.base_url) as client:
        response = await client.get(f"/api/v1/accounts/{account_id}")
    assert response.status_code == 200, response.text
    validate_response(f"/api/v1/accounts/{account_id}", "GET", 200, response.json())
    return response.json()


def _mark_field(entity: dict) -> dict | None:
    return next((field for field in entity["fields"] if field["name"] == MARK_FIELD_NAME), None)


async def test_only_a_trusted_instances_mark_shows_verified(trio) -> None:
    a, b, c = trio
    _trusting(b, a.domain)
    ministry, impostor, bob = await a.local("ministry"), await c.local("ministry"), await b.local("bob")
    await _agency(a, "ministry", id=TOOI_A, website="https://ministerie.example")
    await _agency(c, "ministry", id=TOOI_C, website="https://ministerie.example")

    ministry_on_b = await b.resolve(ministry, a)
    impostor_on_b = await b.resolve(impostor, c)
    await follow(b.ctx, bob, ministry_on_b)
    await settle(a, b, c)

    trusted = _mark_field(await _entity(b, ministry_on_b.id))
    assert trusted is not None and TOOI_A in trusted["value"] and trusted["verified_at"]
    stored = await b.account(ministry.uri)
    assert stored is not None and stored.government_id == TOOI_A

    # The same property from an instance B does not trust: an ordinary field, never verified.
    claimed = _mark_field(await _entity(b, impostor_on_b.id))
    assert claimed is not None and TOOI_C in claimed["value"] and claimed["verified_at"] is None
    stored = await b.account(impostor.uri)
    assert stored is not None and stored.government_id is None

    # Trusting an instance is B's decision at the time of showing: no longer trusted, no longer shown.
    _trusting(b)
    assert _mark_field(await _entity(b, ministry_on_b.id))["verified_at"] is None
    _trusting(b, a.domain)

    # A clears the mark: its actor Update reaches B (bob follows), and the mark is gone there.
    await _agency(a, "ministry", clear=True)
    await settle(a, b, c)
    assert _mark_field(await _entity(b, ministry_on_b.id)) is None
    stored = await b.account(ministry.uri)
    assert stored is not None and stored.government_id is None and stored.government_verified_at is None
