"""Hostile deliveries through the real HTTP endpoint: each case asserts the response code and that nothing
was stored or changed (row counts of every table a delivery could touch, jobs included)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from sqlalchemy import select

from apub.keys import load_private_key
from storage.domains import block_domain
from storage.models import Account, FollowRequest, Job, Status
from support.inbox_remote import AS2, FakeRemote, RemoteActor, deliver, signed_headers
from support.inbox_world import InboxWorld, build_world, rsa_pem

pytestmark = pytest.mark.asyncio(loop_scope="module")
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InboxWorld]:
    folder: Path = tmp_path_factory.mktemp("hostile")
    async for built in build_world(folder):
        # A stored status of ben's, a pending follow of ann by alice, and alice following ann.
        await built.follow_locally(built.alice, built.ann)
        ben_note = built.ben.note("<p>ben's</p>")
        response = await built.deliver(
            built.ben.activity("Create", ben_note, cc=[built.alice.uri]), built.ben
        )
        assert response.status_code == 202, response.text
        ann = await built.scalar(select(Account).where(Account.uri == built.ann.uri))
        async with built.ctx.db.transaction() as session:
            session.add(
                FollowRequest(
                    account_id=built.bob.id,
                    target_account_id=ann.id,
                    uri=f"{built.instance.base_url}/activities/77",
                )
            )
        await built.drain()
        assert await built.scalar(select(Status.id).where(Status.uri == ben_note["id"])), await built.scalar(
            select(Job.last_error)
        )
        built.ben_note = ben_note  # type: ignore[attr-defined]
        yield built


async def _refused(world: InboxWorld, send: Any, status_code: int) -> httpx.Response:
    """Run `send()`, check its status, drain the queues, and check that no row appeared or vanished."""
    before = await world.counts()
    response = await send()
    assert response.status_code == status_code, response.text
    await world.drain()
    assert await world.counts() == before
    return response


async def _post(
    world: InboxWorld, body: bytes, headers: dict[str, str], url: str | None = None
) -> httpx.Response:
    return await world.client.post(url or world.shared_inbox, content=body, headers=headers)


def _signed(
    world: InboxWorld, activity: dict[str, Any] | bytes, signer: RemoteActor, **options: Any
) -> tuple[bytes, dict[str, str]]:
    body = activity if isinstance(activity, bytes) else orjson.dumps(activity)
    return body, signed_headers(
        world.shared_inbox, body, key_id=signer.key_id, private_key=signer.private_key, **options
    )


def _create(world: InboxWorld, actor: RemoteActor, **note_fields: Any) -> dict[str, Any]:
    return actor.activity("Create", actor.note(**note_fields), cc=[world.alice.uri])


# --- signatures -------------------------------------------------------------------------------------------


async def test_unsigned(world: InboxWorld) -> None:
    body = orjson.dumps(_create(world, world.ann))
    await _refused(world, lambda: _post(world, body, {"Content-Type": AS2}), 401)


async def test_forged_signer_from_another_host(world: InboxWorld) -> None:
    await _refused(world, lambda: world.deliver(_create(world, world.ann), world.eve), 401)


async def test_forged_signer_from_the_same_host(world: InboxWorld) -> None:
    await _refused(world, lambda: world.deliver(_create(world, world.ann), world.ben), 401)


async def test_tampered_body(world: InboxWorld) -> None:
    body, headers = _signed(world, _create(world, world.ann), world.ann)
    await _refused(world, lambda: _post(world, body.replace(b"hello", b"HELLO"), headers), 401)


async def test_digest_of_another_body(world: InboxWorld) -> None:
    _, headers = _signed(world, b'{"other": 1}', world.ann)
    body = orjson.dumps(_create(world, world.ann))
    await _refused(world, lambda: _post(world, body, headers), 401)


async def test_digest_missing(world: InboxWorld) -> None:
    body, headers = _signed(world, _create(world, world.ann), world.ann)
    del headers["Digest"]
    await _refused(world, lambda: _post(world, body, headers), 401)


async def test_digest_not_covered_by_the_signature(world: InboxWorld) -> None:
    from apub.httpsig import rfc9421

    body = orjson.dumps(_create(world, world.ann))
    headers = {"Content-Type": AS2}
    headers.update(
        rfc9421.sign_request(
            "POST", world.shared_inbox, headers, body, key_id=world.ann.key_id, private_key=world.ann.private_key,
            components=("@method", "@target-uri", "date"),
        )
    )  # fmt: skip
    await _refused(world, lambda: _post(world, body, headers), 400)


async def test_stale_date(world: InboxWorld) -> None:
    body, headers = _signed(world, _create(world, world.ann), world.ann, at=time.time() - 7200)
    await _refused(world, lambda: _post(world, body, headers), 401)


async def test_future_date(world: InboxWorld) -> None:
    body, headers = _signed(world, _create(world, world.ann), world.ann, at=time.time() + 7200)
    await _refused(world, lambda: _post(world, body, headers), 401)


async def test_stale_rfc9421_signature(world: InboxWorld) -> None:
    body, headers = _signed(
        world, _create(world, world.ann), world.ann, scheme="rfc9421", at=time.time() - 7200
    )
    await _refused(world, lambda: _post(world, body, headers), 401)


async def test_tampered_rfc9421_request(world: InboxWorld) -> None:
    body, headers = _signed(world, _create(world, world.ann), world.ann, scheme="rfc9421")
    await _refused(world, lambda: _post(world, body.replace(b"hello", b"HELLO"), headers), 401)


async def test_signature_by_a_key_the_actor_does_not_list(world: InboxWorld) -> None:
    key = load_private_key(rsa_pem(2))
    body = orjson.dumps(_create(world, world.ann))
    headers = signed_headers(world.shared_inbox, body, key_id=f"{world.ann.uri}#other-key", private_key=key)  # type: ignore[arg-type]
    await _refused(world, lambda: _post(world, body, headers), 401)


async def test_signature_with_the_wrong_private_key(world: InboxWorld) -> None:
    key = load_private_key(rsa_pem(2))
    body = orjson.dumps(_create(world, world.ann))
    headers = signed_headers(world.shared_inbox, body, key_id=world.ann.key_id, private_key=key)  # type: ignore[arg-type]
    await _refused(world, lambda: _post(world, body, headers), 401)


async def test_malformed_signature_header(world: InboxWorld) -> None:
    body, headers = _signed(world, _create(world, world.ann), world.ann)
    headers["Signature"] = 'keyId="' + world.ann.key_id + '",headers="(request-target) host date digest"'
    await _refused(world, lambda: _post(world, body, headers), 400)


async def test_authorization_header_that_is_no_signature(world: InboxWorld) -> None:
    body = orjson.dumps(_create(world, world.ann))
    await _refused(
        world, lambda: _post(world, body, {"Content-Type": AS2, "Authorization": "Bearer abc"}), 401
    )


async def test_replayed_delivery_is_stored_once(world: InboxWorld) -> None:
    body, headers = _signed(world, _create(world, world.ann), world.ann)
    first = await _post(world, body, headers)
    assert first.status_code == 202
    await world.drain()
    await _refused(world, lambda: _post(world, body, headers), 202)


# --- body and parsing -------------------------------------------------------------------------------------


async def test_oversize_body_with_content_length(world: InboxWorld) -> None:
    body, headers = _signed(world, b"{" + b" " * (1024 * 1024) + b"}", world.ann)
    await _refused(world, lambda: _post(world, body, headers), 413)


async def test_oversize_body_streamed_without_length(world: InboxWorld) -> None:
    body, headers = _signed(world, b"{" + b" " * (1024 * 1024) + b"}", world.ann)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    await _refused(
        world, lambda: world.client.post(world.shared_inbox, content=chunks(), headers=headers), 413
    )


async def test_deep_json(world: InboxWorld) -> None:
    activity = _create(world, world.ann)
    nested: Any = "bottom"
    for _ in range(200):
        nested = {"x": nested}
    activity["object"]["deep"] = nested
    await _refused(world, lambda: world.deliver(activity, world.ann), 400)


async def test_non_json(world: InboxWorld) -> None:
    await _refused(world, lambda: world.deliver(b"<html>not json</html>", world.ann), 400)


async def test_json_that_is_no_object(world: InboxWorld) -> None:
    await _refused(world, lambda: world.deliver(b"[1, 2, 3]", world.ann), 400)


async def test_wrong_content_type(world: InboxWorld) -> None:
    body, headers = _signed(world, _create(world, world.ann), world.ann, content_type="text/plain")
    await _refused(world, lambda: _post(world, body, headers), 415)


async def test_plain_json_content_type(world: InboxWorld) -> None:
    body, headers = _signed(world, _create(world, world.ann), world.ann, content_type="application/json")
    await _refused(world, lambda: _post(world, body, headers), 415)


async def test_activity_without_id(world: InboxWorld) -> None:
    activity = _create(world, world.ann)
    del activity["id"]
    await _refused(world, lambda: world.deliver(activity, world.ann), 400)


async def test_activity_without_actor(world: InboxWorld) -> None:
    activity = _create(world, world.ann)
    del activity["actor"]
    await _refused(world, lambda: world.deliver(activity, world.ann), 400)


async def test_personal_inbox_of_nobody(world: InboxWorld) -> None:
    body = orjson.dumps(_create(world, world.ann))
    url = world.inbox_of("nobody")
    headers = signed_headers(url, body, key_id=world.ann.key_id, private_key=world.ann.private_key)
    await _refused(world, lambda: _post(world, body, headers, url), 404)


# --- origins and ownership --------------------------------------------------------------------------------


async def test_activity_id_on_another_host(world: InboxWorld) -> None:
    activity = _create(world, world.ann)
    activity["id"] = f"{world.other.base_url}/activities/x"
    await _refused(world, lambda: world.deliver(activity, world.ann), 400)


async def test_object_id_on_another_host(world: InboxWorld) -> None:
    activity = _create(world, world.ann, id=f"{world.other.base_url}/notes/x")
    await _refused(world, lambda: world.deliver(activity, world.ann), 400)


async def test_attributed_to_someone_else(world: InboxWorld) -> None:
    activity = _create(world, world.ann, attributedTo=world.ben.uri)
    await _refused(world, lambda: world.deliver(activity, world.ann), 403)


async def test_update_of_another_actors_note(world: InboxWorld) -> None:
    edited = dict(world.ben_note, attributedTo=world.ann.uri, content="<p>mine now</p>")  # type: ignore[attr-defined]
    await _refused(world, lambda: world.deliver(world.ann.activity("Update", edited), world.ann), 403)
    assert (
        await world.scalar(select(Status.content).where(Status.uri == world.ben_note["id"])) == "<p>ben's</p>"
    )  # type: ignore[attr-defined]


async def test_delete_of_another_actors_note(world: InboxWorld) -> None:
    delete = world.ann.activity("Delete", world.ben_note["id"])  # type: ignore[attr-defined]
    await _refused(world, lambda: world.deliver(delete, world.ann), 403)
    assert await world.scalar(select(Status.deleted_at).where(Status.uri == world.ben_note["id"])) is None  # type: ignore[attr-defined]


async def test_delete_of_a_note_on_another_host(world: InboxWorld) -> None:
    delete = world.eve.activity("Delete", world.ben_note["id"])  # type: ignore[attr-defined]
    await _refused(world, lambda: world.deliver(delete, world.eve), 400)


async def test_update_of_another_actor(world: InboxWorld) -> None:
    profile = dict(world.ben.document, name="Hijacked")
    await _refused(world, lambda: world.deliver(world.ann.activity("Update", profile), world.ann), 403)


async def test_undo_of_another_actors_activity(world: InboxWorld) -> None:
    undone = {"id": world.ben.new_id(), "type": "Follow", "actor": world.ben.uri, "object": world.alice.uri}
    await _refused(world, lambda: world.deliver(world.ann.activity("Undo", undone), world.ann), 403)


async def test_accept_not_from_the_followee(world: InboxWorld) -> None:
    accept = world.ben.activity("Accept", f"{world.instance.base_url}/activities/77")
    await _refused(world, lambda: world.deliver(accept, world.ben), 403)


async def test_accept_of_an_embedded_follow_of_someone_else(world: InboxWorld) -> None:
    follow = {
        "id": f"{world.instance.base_url}/activities/78",
        "type": "Follow",
        "actor": world.bob.uri,
        "object": world.ann.uri,
    }
    await _refused(world, lambda: world.deliver(world.ben.activity("Accept", follow), world.ben), 403)


async def test_move_of_someone_else(world: InboxWorld) -> None:
    move = world.ben.activity("Move", world.ann.uri, target=world.ben.uri)
    await _refused(world, lambda: world.deliver(move, world.ben), 403)


async def test_actor_claiming_our_own_domain(world: InboxWorld) -> None:
    activity = world.ann.activity("Create", world.ann.note(), actor=world.alice.uri)
    activity["id"] = f"{world.instance.base_url}/activities/999"
    await _refused(world, lambda: world.deliver(activity, world.ann), 403)


async def test_key_on_our_own_domain(world: InboxWorld) -> None:
    body = orjson.dumps(_create(world, world.ann))
    headers = signed_headers(
        world.shared_inbox, body, key_id=f"{world.alice.uri}#main-key", private_key=world.ann.private_key
    )
    await _refused(world, lambda: _post(world, body, headers), 403)


# --- domain policy and SSRF -------------------------------------------------------------------------------


async def test_blocked_domain_is_refused_without_any_fetch(world: InboxWorld) -> None:
    blocked = FakeRemote()
    mallory = blocked.add_actor("mallory", rsa_pem(3))
    async with blocked.running():
        async with world.ctx.db.transaction() as session:
            await block_domain(session, blocked.host)
        activity = mallory.activity("Create", mallory.note(), cc=[world.alice.uri])
        await _refused(world, lambda: deliver(world.client, world.shared_inbox, activity, mallory), 403)
        assert blocked.requests == []


@pytest.mark.parametrize(
    "key_id",
    [
        "http://10.0.0.1/actor#key",
        "http://169.254.169.254/latest#key",
        "http://[::1]/a#k",
        "http://0x7f000001/a#k",
    ],
)
async def test_key_id_pointing_to_a_private_address(world: InboxWorld, key_id: str) -> None:
    body = orjson.dumps(_create(world, world.ann))
    headers = signed_headers(world.shared_inbox, body, key_id=key_id, private_key=world.ann.private_key)
    await _refused(world, lambda: _post(world, body, headers), 403)


async def test_key_id_that_is_no_http_url(world: InboxWorld) -> None:
    body = orjson.dumps(_create(world, world.ann))
    headers = signed_headers(
        world.shared_inbox, body, key_id="ftp://example.org/key", private_key=world.ann.private_key
    )
    await _refused(world, lambda: _post(world, body, headers), 400)


# --- accepted, then refused by the worker: no domain row changes --------------------------------------------


async def _accepted_but_ignored(world: InboxWorld, activity: dict[str, Any], signer: RemoteActor) -> Job:
    before = await world.counts()
    response = await world.deliver(activity, signer)
    assert response.status_code == 202, response.text
    await world.drain()
    after = await world.counts()
    assert {**after, "jobs": before["jobs"]} == before and after["jobs"] == before["jobs"] + 1
    return await world.scalar(select(Job).where(Job.dedupe_key == activity["id"]))


async def test_move_without_also_known_as(world: InboxWorld) -> None:
    job = await _accepted_but_ignored(
        world, world.ann.activity("Move", world.ann.uri, target=world.ben.uri), world.ann
    )
    assert job.state == "failed" and "alsoKnownAs" in job.last_error
    assert await world.scalar(select(Account.moved_to_account_id).where(Account.uri == world.ann.uri)) is None


async def test_announce_of_an_object_whose_id_differs_from_its_url(world: InboxWorld) -> None:
    decoy = world.ben.note("<p>forged</p>", attributedTo=world.ann.uri)
    world.remote.serve(decoy, f"{world.remote.base_url}/uploads/decoy.json")
    announce = world.ann.activity("Announce", f"{world.remote.base_url}/uploads/decoy.json", to=[PUBLIC])
    job = await _accepted_but_ignored(world, announce, world.ann)
    assert job.state == "failed"


async def test_unsolicited_post_is_dropped(world: InboxWorld) -> None:
    activity = world.eve.activity("Create", world.eve.note())
    job = await _accepted_but_ignored(world, activity, world.eve)
    assert "unsolicited" in job.last_error


async def test_delete_from_an_unknown_actor_fetches_nothing(world: InboxWorld) -> None:
    stranger = world.other.add_actor("stranger", rsa_pem(3))
    await _refused(world, lambda: world.deliver(stranger.activity("Delete", stranger.uri), stranger), 202)
    assert not world.other.fetched(stranger.uri)


async def test_script_and_event_handlers_are_stripped(world: InboxWorld) -> None:
    content = (
        '<p onmouseover="steal()">hi<script>alert(1)</script><img src=x onerror=alert(2)>'
        '<a href="javascript:alert(3)">a</a><a href="data:text/html;base64,PHNjcmlwdD4=">b</a>'
        '<iframe src="https://evil"></iframe><style>body{}</style></p>'
    )
    activity = _create(world, world.ann, content=content)
    response = await world.deliver(activity, world.ann)
    assert response.status_code == 202
    await world.drain()
    stored = await world.scalar(select(Status.content).where(Status.uri == activity["object"]["id"]))
    assert (
        stored
        == '<p>hi<a rel="nofollow noopener noreferrer">a</a><a rel="nofollow noopener noreferrer">b</a></p>'
    )


async def test_domain_blocked_after_its_policy_was_read_is_refused_when_queueing(world: InboxWorld) -> None:
    recently = FakeRemote()
    trent = recently.add_actor("trent", rsa_pem(3))
    async with recently.running():
        first = trent.activity("Create", trent.note(), cc=[world.alice.uri])
        assert (await deliver(world.client, world.shared_inbox, first, trent)).status_code == 202
        await world.drain()
        async with world.ctx.db.transaction() as session:
            await block_domain(session, recently.host)
        second = trent.activity("Create", trent.note(), cc=[world.alice.uri])
        await _refused(world, lambda: deliver(world.client, world.shared_inbox, second, trent), 403)
