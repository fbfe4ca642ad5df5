"""The outbound gate: nothing leaves for a host we do not federate with — not a WebFinger lookup, a key or
object fetch, a mention's resolution nor a delivery. Remotes are served on loopback under test names (a
resolver plays DNS) and record every request; the API still answers sensibly (empty results, 404)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from apub.httpsig import cavage
from storage.domains import BlockTerms, allow_domain, block_domain
from storage.models import Account, Job
from support.inbox_remote import AS2, FakeRemote
from support.inbox_world import InboxWorld, build_world, rsa_pem
from support.instance import loopback_names
from support.oauth import bearer, make_token

NAMES = loopback_names(
    {"notallowed.test": "127.0.0.1", "allowed.test": "127.0.0.1", "suspended.test": "127.0.0.1"}
)


async def _signed_get(world: InboxWorld, path: str, key_id: str) -> int:
    url = f"{world.instance.base_url}{path}"
    headers = {"Accept": AS2}
    headers.update(
        cavage.sign_request("GET", url, headers, None, key_id=key_id, private_key=world.ann.private_key)
    )
    return (await world.client.get(url, headers=headers)).status_code


async def _probe_everything(
    world: InboxWorld, remote: FakeRemote, token: str, username: str = "u"
) -> dict[str, object]:
    """Every way a user or a peer can make Plein contact `remote` about `username` (an account Plein does
    not know yet); what the API answered to each."""
    acct = f"{username}@{remote.host}"
    auth = bearer(token)
    search = await world.client.get(
        "/api/v2/search", params={"q": acct, "resolve": "true", "type": "accounts"}, headers=auth
    )
    url_search = await world.client.get(
        "/api/v2/search", params={"q": f"{remote.base_url}/users/{username}", "resolve": "true"}, headers=auth
    )
    lookup = await world.client.get("/api/v1/accounts/lookup", params={"acct": acct}, headers=auth)
    account_search = await world.client.get(
        "/api/v1/accounts/search", params={"q": acct, "resolve": "true"}, headers=auth
    )
    mention = await world.client.post("/api/v1/statuses", json={"status": f"hi @{acct}"}, headers=auth)
    # A status object: its readers are told apart by their signature (checked whenever one is present).
    status_path = mention.json()["uri"].removeprefix(world.instance.base_url)
    signed_get = await _signed_get(world, status_path, f"{remote.base_url}/users/{username}#main-key")
    await world.drain()
    return {
        "search": (search.status_code, len(search.json()["accounts"])),
        "url search": (url_search.status_code, len(url_search.json()["accounts"])),
        "lookup": lookup.status_code,
        "accounts search": (account_search.status_code, len(account_search.json())),
        "mention": (mention.status_code, len(mention.json().get("mentions", []))),
        "signed GET": signed_get,
    }


REFUSED = {
    "search": (200, 0),
    "url search": (200, 0),
    "lookup": 404,
    "accounts search": (200, 0),
    "mention": (200, 0),
    "signed GET": 200,  # answered as to an anonymous reader: the key could not be fetched
}
REACHED = {
    "search": (200, 1),
    "url search": (200, 1),
    "lookup": 200,
    "accounts search": (200, 1),
    "mention": (200, 1),
    "signed GET": 200,
}


def _serve_u(remote: FakeRemote, username: str = "u") -> None:
    actor = remote.add_actor(username, rsa_pem(0))  # ann's key: the signed GET above is valid for it
    remote.serve(
        {
            "subject": f"acct:{username}@{remote.host}",
            "links": [{"rel": "self", "type": AS2, "href": actor.uri}],
        },
        "/.well-known/webfinger",
    )


async def test_allowlist_mode_contacts_no_host_off_the_list(tmp_path: Path, database_url: str) -> None:
    refused, allowed = FakeRemote(name="notallowed.test"), FakeRemote(name="allowed.test")
    _serve_u(refused)
    _serve_u(allowed)
    async for world in build_world(
        tmp_path, database_url, resolver=NAMES, **{"federation.mode": "allowlist"}
    ):
        async with refused.running(), allowed.running():
            async with world.ctx.db.transaction() as session:
                await allow_domain(session, "allowed.test")
            token = await make_token(world.ctx, "alice")
            assert await _probe_everything(world, refused, token) == REFUSED
            assert refused.requests == []
            # Positive control: the allowed host is contacted and everything resolves.
            assert await _probe_everything(world, allowed, token) == REACHED
            assert allowed.requests


async def test_a_suspended_host_is_never_fetched_from_nor_delivered_to(
    tmp_path: Path, database_url: str
) -> None:
    suspended = FakeRemote(name="suspended.test")
    suspended.add_actor("u", rsa_pem(1))  # the follower
    _serve_u(suspended, "v")  # someone Plein does not know yet
    async for world in build_world(tmp_path, database_url, resolver=NAMES):
        async with suspended.running():
            follower = suspended.actors["u"]
            response = await world.deliver(follower.activity("Follow", world.alice.uri), follower)
            assert response.status_code == 202, response.text
            await world.drain()
            assert [path for method, path, _ in suspended.requests if method == "POST"] == ["/users/u/inbox"]
            suspended.requests.clear()
            async with world.ctx.db.transaction() as session:
                await block_domain(session, "suspended.test", BlockTerms(severity="suspend"))
            assert world.ctx.http is not None and world.ctx.http.host_gate is not None
            world.ctx.http.host_gate.forget()  # what an in-process moderation action does after a block
            token = await make_token(world.ctx, "alice")
            assert await _probe_everything(world, suspended, token, "v") == REFUSED
            assert suspended.requests == []
            # The follow still stands (severing it is the moderation action's business), so the posts above
            # were queued for the follower's inbox: the gate failed those jobs for good, sending nothing.
            async with world.ctx.db.read() as session:
                jobs = list((await session.execute(select(Job).where(Job.queue == "deliver"))).scalars())
                known = await session.scalar(select(Account.id).where(Account.uri == follower.uri))
            assert known is not None
            # The Accept of the follow was delivered before the block; the post after it was not.
            states = sorted((job.state, job.last_error or "") for job in jobs if job.host == suspended.host)
            assert [state for state, _ in states] == ["done", "failed"]
            assert "not federated with" in states[1][1]
