"""Issue 15 end to end: an organisation written by its staff, reviewed in a real browser, federated once.

Instance A hosts @ministry, an organisation with review on: anna (publisher) and bram (author) sign in
through the OAuth consent page as the organisation and post from Mastodon.py. bob on a second Plein
instance (B) and alice on a Fedify server follow @ministry first. anna's post goes out at once; bram's waits
as a draft, which anna approves in headless Chromium (Playwright) on /web/review. Once A's workers have run,
B and Fedify have each received exactly ONE delivery for the approved post (counted at their inboxes, not
just deduplicated there), with its text; B shows @ministry as an Organization (neither bot nor group, as
Mastodon maps it) and the post in bob's home timeline. `plein org audit` (the CLI, a separate process on A's
database) names who did each step, with role and channel ("web session" for the approval). `plein org
remove` takes bram out, and his token is refused at its next request while anna's still works.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mastodon import Mastodon, MastodonUnauthorizedError

from outbox.actions import follow
from peers.fedify import FedifyPeer, fedify_peer_fixture  # noqa: F401  (provides the fixture "fedify_peer")
from plein.config import settings_to_toml
from plein.organisation_commands import organisation_command
from storage.models import Account, Status
from support.browser import chromium, log_in
from support.federation import Instance, settle, until
from support.instance import make_settings, run_plein, serve_in_process
from support.oauth import authorize, bearer, make_token, make_user
from support.openapi import validate_response

PASSWORD = "correct horse battery staple"
DIRECT_TEXT = "Kamerbrief over de begroting verzonden"
DRAFT_TEXT = "Persbericht: nieuwe regeling voor mantelzorgers"


@pytest.fixture
async def a_and_b(tmp_path: Path) -> AsyncIterator[tuple[Instance, Instance, list[str]]]:
    """Instance A (the organisation's) and instance B, whose received requests are noted ("METHOD /path")."""
    seen_by_b: list[str] = []
    async with (
        serve_in_process(make_settings(tmp_path / "a")) as a,
        serve_in_process(make_settings(tmp_path / "b"), seen=seen_by_b) as b,
    ):
        yield Instance(a), Instance(b), seen_by_b


async def _get(client: httpx.AsyncClient, path: str) -> Any:
    """GET `path` (200, validated against the Mastodon OpenAPI description)."""
    response = await client.get(path)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    validate_response(path, "GET", 200, response.json())
    return response.json()


def _cli(instance: Instance, folder: Path, *args: str) -> str:
    """Run `plein ARGS` as its own process against `instance`'s config and database; its output."""
    config = folder / "plein.toml"
    config.write_text(settings_to_toml(instance.running.settings))
    done = run_plein(config, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _token_as(instance: Instance, login: str, organisation: Account) -> str:
    async with instance.running.client() as browser:
        return await authorize(browser, username=login, password=PASSWORD, act_as=str(organisation.id))


async def _approve_in_browser(base_url: str, login: str, text: str) -> str:
    """`login` signs in with Chromium and approves the draft showing `text`; the notice the page shows."""
    async with chromium() as browser:
        context = await browser.new_context(locale="nl-NL")
        await log_in(context, base_url, login, PASSWORD)
        page = await context.new_page()
        await page.goto(f"{base_url}/web/review")
        draft = page.locator("article.draft", has_text=text)
        assert await draft.count() == 1
        await draft.locator('button[name="decision"][value="approve"]').click()
        await page.wait_for_url(f"{base_url}/web/review?saved=approved")
        return await page.locator("p.notice").inner_text()


def _inbox_posts_to_b(seen: list[str]) -> int:
    return sum(1 for request in seen if request.startswith("POST ") and request.endswith("/inbox"))


async def _inbox_posts_to_fedify(peer: FedifyPeer) -> int:
    return sum(
        1
        for request in await peer.requests()
        if request["direction"] == "in" and request["method"] == "POST" and request["url"].endswith("inbox")
    )


async def test_reviewed_post_federates_once_and_the_audit_names_each_step(
    a_and_b: tuple[Instance, Instance, list[str]], fedify_peer: FedifyPeer, tmp_path: Path
) -> None:
    a, b, seen_by_b = a_and_b
    await fedify_peer.reset()
    ministry = await make_user(a.ctx, "ministry")
    staff = {login: await make_user(a.ctx, login) for login in ("anna", "bram")}
    for action, values in (
        ("create", {"username": "ministry", "review": "on"}),
        ("add", {"organisation": "ministry", "member": "anna", "role": "publisher"}),
        ("add", {"organisation": "ministry", "member": "bram", "role": "author"}),
    ):
        await organisation_command(a.ctx, argparse.Namespace(action=action, **values))

    # Followers first: bob on B, alice on Fedify.
    bob = await make_user(b.ctx, "bob")
    ministry_on_b = await b.resolve(ministry, a)
    await follow(b.ctx, bob, ministry_on_b)
    await settle(a, b)
    await fedify_peer.follow(ministry.uri)

    async def fedify_accepted() -> bool:
        return any(item["type"] == "Accept" for item in await fedify_peer.inbox())

    await until(a, fedify_accepted, what="Fedify takes @ministry's Accept", also=(b,))

    # Two staff logins, one organisation, from Mastodon.py.
    anna = Mastodon(access_token=await _token_as(a, "anna", ministry), api_base_url=a.running.base_url)
    bram_token = await _token_as(a, "bram", ministry)
    bram = Mastodon(access_token=bram_token, api_base_url=a.running.base_url)
    direct = await asyncio.to_thread(anna.status_post, DIRECT_TEXT)
    assert direct["account"]["id"] == str(ministry.id)
    draft = await asyncio.to_thread(bram.status_post, DRAFT_TEXT)
    assert draft["params"]["text"] == DRAFT_TEXT and draft.get("account") is None
    await settle(a, b)

    async def direct_reached_fedify() -> bool:
        return any(item["object_id"] == direct["uri"] for item in await fedify_peer.inbox())

    await until(a, direct_reached_fedify, what="anna's post reaches Fedify", also=(b,))
    assert await b.status(direct["uri"]) is not None
    posts_to_b, posts_to_fedify = _inbox_posts_to_b(seen_by_b), await _inbox_posts_to_fedify(fedify_peer)

    # The publisher approves the author's draft in the browser.
    notice = await _approve_in_browser(a.running.base_url, "anna", DRAFT_TEXT)
    assert "Het concept is goedgekeurd" in notice

    async def approved_reached_fedify() -> list[dict[str, Any]]:
        return [item for item in await fedify_peer.inbox() if DRAFT_TEXT in (item.get("content") or "")]

    await until(a, approved_reached_fedify, what="the approved post reaches Fedify", also=(b,))
    await settle(a, b)
    async with a.running.client() as reader:
        published = await _get(reader, f"/api/v1/accounts/{ministry.id}/statuses")
    approved = [status for status in published if DRAFT_TEXT in status["content"]]
    assert len(approved) == 1 and approved[0]["account"]["id"] == str(ministry.id)
    approved_uri = approved[0]["uri"]

    # Exactly one delivery each: one POST to each inbox, one Create at Fedify, one copy on B.
    received = await approved_reached_fedify()
    assert [(item["type"], item["actor"], item["object_id"]) for item in received] == [
        ("Create", ministry.uri, approved_uri)
    ]
    assert await _inbox_posts_to_fedify(fedify_peer) == posts_to_fedify + 1
    assert _inbox_posts_to_b(seen_by_b) == posts_to_b + 1
    assert await b.count(Status, Status.uri == approved_uri) == 1
    assert await fedify_peer.errors() == []

    # B's view: an Organization actor, shown as neither bot nor group, and the post in bob's home timeline.
    stored = await b.account(ministry.uri)
    assert stored is not None and stored.actor_type == "Organization"
    bob_token = await make_token(b.ctx, "bob")
    async with b.running.client(headers=bearer(bob_token)) as api:
        entity = await _get(api, f"/api/v1/accounts/{ministry_on_b.id}")
        assert (entity["acct"], entity["bot"], entity["group"]) == (f"ministry@{a.domain}", False, False)
        home = await _get(api, "/api/v1/timelines/home")
    assert [status["uri"] for status in home] == [approved_uri, direct["uri"]]
    assert DRAFT_TEXT in home[0]["content"] and home[0]["account"]["id"] == str(ministry_on_b.id)

    # A removed member's token stops at its next request; the other member's goes on.
    _cli(a, tmp_path, "org", "remove", "ministry", "bram")
    with pytest.raises(MastodonUnauthorizedError):
        await asyncio.to_thread(bram.account_verify_credentials)
    assert (await asyncio.to_thread(anna.account_verify_credentials))["username"] == "ministry"

    # The audit trail, read with the CLI: who did each step, with which role, through what.
    out = tmp_path / "audit.json"
    _cli(a, tmp_path, "org", "audit", "ministry", "--format", "json", "--out", str(out))
    entries = json.loads(out.read_text())
    cli_login = entries[0]["login"]
    assert cli_login.startswith("cli:")
    steps = [
        (entry["login"], entry["role"], entry["via"].split(" (")[0], entry["action"], entry["target"])
        for entry in entries
        if entry["login"] != cli_login or entry["action"] == "member.remove"
    ]
    assert steps == [
        ("anna", "publisher", "app Test app", "Create Note", direct["uri"]),
        ("bram", "author", "app Test app", "draft.submit", f"draft:{draft['id']}"),
        ("anna", "publisher", "web session", "draft.approve", f"draft:{draft['id']}"),
        ("anna", "publisher", "web session", "Create Note", approved_uri),  # published by the draft's job
        (cli_login, "admin", "cli", "member.remove", staff["bram"].uri),
    ]
