"""Instance endpoints through the live app, validated against the OpenAPI description."""

from __future__ import annotations

from checked import call

from storage.models import Account
from support.instance import RunningInstance
from support.oauth import make_user
from support.openapi import validate_entity


async def test_v1_instance(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice")
    async with instance.client() as client:
        body = await call(client, "GET", "/api/v1/instance")
    validate_entity("V1Instance", body, all_properties=True)
    assert body["uri"] == instance.ctx.domain  # the bare domain, not a URL
    assert body["version"].startswith("4.3.0 (compatible; Plein ")
    assert body["urls"]["streaming_api"] == instance.base_url.replace("http://", "ws://")
    assert body["stats"]["user_count"] == 1
    assert (
        body["configuration"]["statuses"]["max_characters"] == instance.settings.limits.max_status_characters
    )


async def test_v2_instance(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    async with instance.client() as client:
        body = await call(client, "GET", "/api/v2/instance")
    validate_entity("Instance", body, all_properties=True, ignore=("wrapstodon",))
    assert body["domain"] == instance.ctx.domain
    assert body["api_versions"] == {"mastodon": 2}
    configuration = body["configuration"]
    assert configuration["statuses"]["max_characters"] == 500
    assert configuration["polls"]["max_options"] >= 2
    assert configuration["media_attachments"]["supported_mime_types"]
    assert configuration["urls"]["streaming"].startswith("ws://")
    assert body["registrations"]["enabled"] is False  # registration mode defaults to closed


async def test_peers_lists_known_remote_domains(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    async with instance.ctx.db.transaction() as session:
        for username, domain in (("bob", "b.example"), ("ann", "a.example"), ("cat", "b.example")):
            session.add(Account(username=username, domain=domain, uri=f"https://{domain}/users/{username}"))
    async with instance.client() as client:
        peers = await call(client, "GET", "/api/v1/instance/peers")
        rules = await call(client, "GET", "/api/v1/instance/rules")
    assert peers == ["a.example", "b.example"]
    assert rules == []
