"""A status the viewer may not see answers exactly like one that does not exist — same status, body and
headers — on every route that serves statuses (HTML, ActivityPub objects, the client API), so its URL is no
oracle for whether it exists."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from apub.httpsig import cavage
from storage.accounts import local_account_by_username
from storage.models import Activity
from storage.types import utcnow
from support.databases import sqlite_url
from support.inbox_remote import FakeRemote, RemoteActor, new_rsa_pem
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import bearer, make_token

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ACTIVITY_JSON = "application/activity+json"


def _html_and_ap_routes(status_id: int) -> list[tuple[str, str, str]]:
    """(method, path, Accept) of every anonymous route that serves a status."""
    return [
        ("GET", f"/@alice/{status_id}", BROWSER),
        ("GET", f"/users/alice/statuses/{status_id}", BROWSER),
        ("GET", f"/users/alice/statuses/{status_id}", ACTIVITY_JSON),
        ("GET", f"/users/alice/statuses/{status_id}/activity", ACTIVITY_JSON),
        ("GET", f"/users/alice/statuses/{status_id}/activity", BROWSER),
        ("GET", f"/users/alice/statuses/{status_id}/replies", ACTIVITY_JSON),
        ("GET", f"/users/alice/statuses/{status_id}/replies?page=true", ACTIVITY_JSON),
    ]


def _ap_paths(status_id: int) -> list[str]:
    """The ActivityPub object routes of a status (read with an AS2 Accept)."""
    return [path for _, path, accept in _html_and_ap_routes(status_id) if accept == ACTIVITY_JSON]


def _api_routes(status_id: int) -> list[tuple[str, str]]:
    base = f"/api/v1/statuses/{status_id}"
    reads = ["", "/context", "/favourited_by", "/reblogged_by", "/history"]
    writes = ["/favourite", "/reblog", "/bookmark", "/unfavourite", "/unreblog", "/unbookmark"]
    return [*(("GET", base + tail) for tail in reads), *(("POST", base + tail) for tail in writes)]


def _comparable(response: httpx.Response) -> tuple[int, bytes, list[tuple[str, str]]]:
    # The date and the request id differ between any two answers, so they tell nothing apart.
    headers = sorted(
        (name, value) for name, value in response.headers.items() if name not in ("date", "x-request-id")
    )
    return response.status_code, response.content, headers


async def _post(client: httpx.AsyncClient, token: str, visibility: str, text: str) -> int:
    posted = await client.post(
        "/api/v1/statuses", headers=bearer(token), json={"status": text, "visibility": visibility}
    )
    assert posted.status_code == 200, posted.text
    return int(posted.json()["id"])


async def _statuses(instance: RunningInstance, client: httpx.AsyncClient) -> dict[str, int]:
    """alice's hidden statuses by kind, a public one, and an id that was never used."""
    assert instance.ctx is not None
    alice = await make_token(instance.ctx, "alice")
    ids = {
        "private": await _post(client, alice, "private", "for my followers"),
        "direct": await _post(client, alice, "direct", "for nobody"),
        "deleted private": await _post(client, alice, "private", "regretted"),
        "public": await _post(client, alice, "public", "hello world"),
    }
    deleted = await client.delete(f"/api/v1/statuses/{ids['deleted private']}", headers=bearer(alice))
    assert deleted.status_code == 200
    ids["missing"] = ids["public"] + 1_000_000  # a well-formed id of nothing
    return ids


async def test_hidden_statuses_answer_like_missing_ones(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    async with instance.client() as client:
        ids = await _statuses(instance, client)
        stranger = await make_token(instance.ctx, "mallory")  # follows nobody
        answers: dict[str, dict[tuple[str, ...], tuple[int, bytes, list[tuple[str, str]]]]] = {}
        for kind, status_id in ids.items():
            answers[kind] = {}
            for method, path, accept in _html_and_ap_routes(status_id):
                response = await client.request(method, path, headers={"Accept": accept})
                answers[kind][("anonymous", method, path.replace(str(status_id), "ID"), accept)] = (
                    _comparable(response)
                )
            for method, path in _api_routes(status_id):
                for viewer, headers in (("anonymous", {}), ("stranger", bearer(stranger))):
                    if method == "POST" and viewer == "anonymous":
                        continue  # refused for want of a token before any status is looked at
                    response = await client.request(method, path, headers=headers)
                    answers[kind][(viewer, method, path.replace(str(status_id), "ID"))] = _comparable(
                        response
                    )
            for url in (
                f"{instance.base_url}/users/alice/statuses/{status_id}",
                f"{instance.base_url}/@alice/{status_id}",
            ):
                found = await client.get(
                    "/api/v2/search",
                    params={"q": url, "type": "statuses", "resolve": "true"},
                    headers=bearer(stranger),
                )
                answers[kind][("stranger", "search", url.replace(str(status_id), "ID"))] = _comparable(found)
    missing = answers["missing"]
    told_apart = sorted(
        (kind, *route)
        for kind in ("private", "direct", "deleted private")
        for route in missing
        if answers[kind][route] != missing[route]
    )
    assert told_apart == []
    # Positive control: the public status is served on every route.
    public = answers["public"]
    assert all(status < 400 for status, _, _ in public.values()), {
        route: answer[0] for route, answer in public.items() if answer[0] >= 400
    }


async def test_hidden_status_activity_answers_like_a_missing_activity(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    async with instance.client() as client:
        ids = await _statuses(instance, client)
        async with instance.ctx.db.read() as session:
            rows = await session.execute(
                select(Activity.id, Activity.status_id).where(Activity.activity_type == "Create")
            )
            create_of = {status_id: activity_id for activity_id, status_id in rows}
        hidden = await client.get(
            f"/activities/{create_of[ids['private']]}", headers={"Accept": ACTIVITY_JSON}
        )
        missing = await client.get(f"/activities/{ids['missing']}", headers={"Accept": ACTIVITY_JSON})
        public = await client.get(
            f"/activities/{create_of[ids['public']]}",
            headers={"Accept": ACTIVITY_JSON},
            follow_redirects=True,
        )
    assert _comparable(hidden) == _comparable(missing)
    assert public.status_code == 200 and public.json()["type"] == "Create"


async def _signed_get(client: httpx.AsyncClient, url: str, signer: RemoteActor) -> httpx.Response:
    headers = {"Accept": ACTIVITY_JSON}
    headers.update(
        cavage.sign_request("GET", url, headers, None, key_id=signer.key_id, private_key=signer.private_key)
    )
    return await client.get(url, headers=headers)


async def test_a_signed_stranger_cannot_tell_hidden_from_missing(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    remote = FakeRemote()
    stranger = remote.add_actor("stranger", new_rsa_pem())  # follows nobody here
    async with remote.running(), instance.client() as client:
        ids = await _statuses(instance, client)
        answers = {
            kind: [
                _comparable(await _signed_get(client, f"{instance.base_url}{path}", stranger))
                for path in _ap_paths(status_id)
            ]
            for kind, status_id in ids.items()
        }
    assert remote.fetched(stranger.uri)  # the signature was checked: the key was fetched
    for kind in ("private", "direct", "deleted private"):
        assert answers[kind] == answers["missing"], kind
    assert all(status == 200 for status, _, _ in answers["public"])


async def test_authorized_fetch_refuses_unsigned_readers_whether_or_not_the_status_exists(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path, database_url=sqlite_url(str(tmp_path)), **{"federation.authorized_fetch": True}
    )
    async with serve_in_process(settings) as instance, instance.client() as client:
        ids = await _statuses(instance, client)
        answers = {
            kind: [
                _comparable(await client.get(path, headers={"Accept": ACTIVITY_JSON}))
                for path in [*_ap_paths(status_id), f"/activities/{status_id}"]
            ]
            for kind, status_id in ids.items()
        }
    for kind in ("private", "direct", "deleted private", "public"):
        assert answers[kind] == answers["missing"], kind
    assert {status for status, _, _ in answers["missing"]} == {401}


async def test_a_suspended_authors_posts_answer_like_missing_ones(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    async with instance.client() as client:
        ids = await _statuses(instance, client)
        async with instance.ctx.db.transaction() as session:
            alice = await local_account_by_username(session, "alice")
            assert alice is not None
            alice.suspended_at = utcnow()
        answers = {
            kind: [
                _comparable(await client.get(path, headers={"Accept": accept}))
                for _, path, accept in _html_and_ap_routes(ids[kind])
            ]
            + [
                _comparable(await client.get(path))
                for method, path in _api_routes(ids[kind])
                if method == "GET"
            ]
            for kind in ("public", "missing")
        }
    assert answers["public"] == answers["missing"]
