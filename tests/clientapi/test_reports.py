"""`POST /api/v1/reports` through the live endpoint: a local report is stored for moderators and answered as
Mastodon's Report entity; statuses cited must be the target's and visible to the reporter; a report about a
remote account with `forward` reaches its server as a `Flag` signed by the instance actor, naming no reporter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import select

import moderation
from storage.accounts import local_account_by_username
from storage.audit import recent_audit_entries
from storage.models import Activity, Report
from storage.urls import LocalUrls
from support.databases import sqlite_url
from support.federation import Instance, settle
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import bearer, make_token
from support.openapi import validate_entity


async def _post(client: httpx.AsyncClient, token: str, text: str, visibility: str = "public") -> str:
    posted = await client.post(
        "/api/v1/statuses", headers=bearer(token), json={"status": text, "visibility": visibility}
    )
    assert posted.status_code == 200, posted.text
    return str(posted.json()["id"])


async def _account_id(instance: RunningInstance, username: str) -> str:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        account = await local_account_by_username(session, username)
    assert account is not None
    return str(account.id)


async def _reports(instance: RunningInstance) -> list[Report]:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        return list((await session.execute(select(Report).order_by(Report.id))).scalars())


async def test_local_report_is_stored_and_answered(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    reporter = await make_token(instance.ctx, "carol")
    mallory = await make_token(instance.ctx, "mallory")
    async with instance.client() as client:
        spam = await _post(client, mallory, "buy now")
        mallory_id = await _account_id(instance, "mallory")
        answer = await client.post(
            "/api/v1/reports",
            headers=bearer(reporter),
            json={
                "account_id": mallory_id,
                "status_ids": [spam],
                "comment": "spam",
                "category": "spam",
                "forward": True,  # a local target: nothing to forward
            },
        )
    assert answer.status_code == 200, answer.text
    entity = answer.json()
    validate_entity("Report", entity)
    assert entity["target_account"]["id"] == mallory_id
    assert entity["status_ids"] == [spam]
    assert (entity["category"], entity["comment"], entity["forwarded"], entity["action_taken"]) == (
        "spam",
        "spam",
        False,
        False,
    )
    [stored] = await _reports(instance)
    assert (str(stored.id), str(stored.target_account_id), stored.status_ids) == (
        entity["id"],
        mallory_id,
        [int(spam)],
    )
    assert stored.category == "spam" and stored.resolved_at is None


async def test_refused_reports_change_nothing(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    reporter = await make_token(instance.ctx, "carol")
    mallory = await make_token(instance.ctx, "mallory")
    other = await make_token(instance.ctx, "olive")
    read_only = await make_token(instance.ctx, "carol", scopes="read")
    async with instance.client() as client:
        hidden = await _post(client, mallory, "for nobody", visibility="direct")
        not_theirs = await _post(client, other, "innocent")
        mallory_id = await _account_id(instance, "mallory")
        cases = [
            (reporter, {"account_id": mallory_id, "status_ids": [not_theirs]}, 404),  # another account's
            (reporter, {"account_id": mallory_id, "status_ids": [hidden]}, 404),  # invisible to the reporter
            (reporter, {"account_id": mallory_id, "status_ids": ["nope"]}, 422),
            (reporter, {"account_id": mallory_id, "comment": "x" * 1001}, 422),
            (reporter, {"account_id": mallory_id, "category": "boring"}, 422),
            (reporter, {"account_id": mallory_id, "rule_ids": ["1"]}, 422),  # this server has no rules
            (reporter, {"account_id": "999999999"}, 404),
            (reporter, {}, 404),
            (reporter, {"account_id": mallory_id, "forward": "maybe"}, 422),
            (read_only, {"account_id": mallory_id}, 403),
        ]
        for token, body, status in cases:
            answer = await client.post("/api/v1/reports", headers=bearer(token), json=body)
            assert answer.status_code == status, (body, answer.text)
            assert "error" in answer.json()
        unauthenticated = await client.post("/api/v1/reports", json={"account_id": mallory_id})
        assert unauthenticated.status_code == 401
        # positive control: the same reporter may report the same account with a status it can see
        visible = await _post(client, mallory, "seen by all")
        fine = await client.post(
            "/api/v1/reports",
            headers=bearer(reporter),
            json={"account_id": mallory_id, "status_ids": [visible]},
        )
        assert fine.status_code == 200, fine.text
    assert [report.status_ids for report in await _reports(instance)] == [[int(visible)]]


@pytest.fixture
async def pair(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[Instance, Instance]]:
    """A (on each backend) reports to B (SQLite): two real instances, workers off (tests settle inline)."""
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(
            serve_in_process(make_settings(tmp_path / "a", database_url=database_url))
        )
        b = await stack.enter_async_context(
            serve_in_process(make_settings(tmp_path / "b", database_url=sqlite_url(str(tmp_path / "b"))))
        )
        yield Instance(a), Instance(b)


async def test_forwarded_report_reaches_the_remote_as_an_anonymous_flag(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    reporter = await make_token(a.ctx, "carol")
    async with b.running.client() as client:
        bob_token = await make_token(b.ctx, "bob")
        spam = await _post(client, bob_token, "remote spam")
    bob = await b.account(LocalUrls(b.ctx.base_url).actor("bob"))
    assert bob is not None
    bob_on_a = await a.resolve(bob, b)
    spam_uri = LocalUrls(b.ctx.base_url).status("bob", int(spam))
    async with a.running.client() as client:
        found = await client.get(
            "/api/v2/search", params={"q": spam_uri, "resolve": "true"}, headers=bearer(reporter)
        )
        assert found.status_code == 200, found.text
        [status] = found.json()["statuses"]
        answer = await client.post(
            "/api/v1/reports",
            headers=bearer(reporter),
            json={
                "account_id": str(bob_on_a.id),
                "status_ids": [status["id"]],
                "comment": "spam",
                "forward": True,
            },
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["forwarded"] is True
    async with a.ctx.db.read() as session:
        [flag] = list(
            (await session.execute(select(Activity).where(Activity.activity_type == "Flag"))).scalars()
        )
    carol = await a.account(f"{a.ctx.base_url}/users/carol")
    assert carol is not None
    assert carol.uri not in orjson.dumps(flag.payload).decode()  # the reporter is not revealed
    await settle(a, b)
    [received] = await _reports(b.running)
    instance_actor = await b.account(LocalUrls(a.ctx.base_url).instance_actor())
    assert instance_actor is not None  # B verified the signature of A's instance actor and stored it
    assert received.account_id == instance_actor.id
    assert received.target_account_id == bob.id
    assert received.status_ids == [int(spam)]
    assert received.comment == "spam"


async def test_silence_from_a_report_is_audited_and_resolves_it_once(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    reporter = await make_token(instance.ctx, "carol")
    await make_token(instance.ctx, "mallory")
    async with instance.client() as client:
        filed = await client.post(
            "/api/v1/reports",
            headers=bearer(reporter),
            json={"account_id": await _account_id(instance, "mallory"), "comment": "loud"},
        )
    assert filed.status_code == 200, filed.text
    report_id = int(filed.json()["id"])
    await moderation.silence_reported_account(instance.ctx, report_id, actor="test", note="calm down")
    with pytest.raises(moderation.ModerationError, match="already resolved"):
        await moderation.suspend_reported_account(instance.ctx, report_id, actor="test")
    async with instance.ctx.db.read() as session:
        mallory = await local_account_by_username(session, "mallory")
        report = await session.get(Report, report_id)
        [entry] = await recent_audit_entries(session)
    assert mallory is not None and mallory.silenced_at is not None and mallory.suspended_at is None
    assert report is not None and report.resolved_at is not None and report.resolution_note == "calm down"
    assert (entry.action, entry.target, entry.details["note"]) == (
        "report.silence",
        f"report:{report_id}",
        "calm down",
    )


async def test_deleting_a_reported_remote_status_stays_on_this_server(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    reporter = await make_token(a.ctx, "carol")
    async with b.running.client() as client:
        spam = await _post(client, await make_token(b.ctx, "bob"), "remote spam")
    bob = await b.account(LocalUrls(b.ctx.base_url).actor("bob"))
    assert bob is not None
    bob_on_a = await a.resolve(bob, b)
    spam_uri = LocalUrls(b.ctx.base_url).status("bob", int(spam))
    async with a.running.client() as client:
        found = await client.get(
            "/api/v2/search", params={"q": spam_uri, "resolve": "true"}, headers=bearer(reporter)
        )
        [status] = found.json()["statuses"]
        filed = await client.post(
            "/api/v1/reports",
            headers=bearer(reporter),
            json={"account_id": str(bob_on_a.id), "status_ids": [status["id"]]},
        )
    assert filed.status_code == 200 and filed.json()["forwarded"] is False
    deleted = await moderation.delete_reported_statuses(a.ctx, int(filed.json()["id"]), actor="test")
    assert deleted == 1
    copy = await a.status(spam_uri)
    assert copy is not None and copy.deleted_at is not None
    async with a.ctx.db.read() as session:
        sent = list((await session.execute(select(Activity.activity_type))).scalars())
    assert "Delete" not in sent and "Flag" not in sent  # not ours to delete elsewhere; not forwarded
    await settle(a, b)
    original = await b.status(spam_uri)
    assert original is not None and original.deleted_at is None
    assert await _reports(b.running) == []
