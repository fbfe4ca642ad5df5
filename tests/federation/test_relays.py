"""Relays, against a real relay server (ActivityRelay behind Caddy, `peers.activityrelay`): three Plein
instances on their own loopback addresses subscribe with `plein relay add`; a public post travels from A to
B's federated timeline with no follow between them, never into a home timeline or a notification; B's
domain block holds against what the relay passes on; `plein relay remove` ends the subscription."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

import moderation
from peers.activityrelay import RelayServer, activity_relay, free_port_on
from storage.models import Job, Relay
from support.caddy import caddy_front, trusting
from support.federation import Instance, until
from support.instance import PleinProcess, make_settings, serve_in_process
from support.oauth import bearer, make_token
from support.tls import PrivateCA

RELAY_HOST = "127.0.0.41"
INSTANCE_HOSTS = {"a": "127.0.0.42", "b": "127.0.0.43", "c": "127.0.0.44"}


class Network:
    def __init__(self, relay: RelayServer, ca: PrivateCA, instances: dict[str, Instance], folder: Path):
        self.relay, self.ca, self.instances, self.folder = relay, ca, instances, folder

    async def cli(self, name: str, *args: str) -> str:
        """Run `plein …` against instance `name`'s config (its server runs in this event loop, so the command
        runs in a thread while the loop goes on serving)."""
        process = PleinProcess(self.instances[name].running.settings, self.folder / name)
        return (await asyncio.to_thread(process.cli, *args)).stdout

    def client(self, name: str) -> httpx.AsyncClient:
        """An HTTP client of instance `name`'s public origin (through Caddy)."""
        return self.instances[name].running.client(verify=trusting(self.ca))

    async def relay_state(self, name: str) -> str | None:
        async with self.instances[name].ctx.db.read() as session:
            return await session.scalar(select(Relay.state).where(Relay.inbox_url == self.relay.inbox_url))

    async def until(self, check: Any, *, what: str, timeout: float = 60.0) -> Any:
        """Run every instance's queues while polling `check` (the relay answers from its own process)."""
        first, *others = self.instances.values()
        return await until(first, check, what=what, timeout=timeout, also=others)


@pytest.fixture
async def network(tmp_path: Path) -> AsyncIterator[Network]:
    """The relay and instances A, B, C, each at `https://<its loopback address>` (port 443, through Caddy),
    which the relay needs to read their NodeInfo; workers off, queues run by `Network.until`."""
    ca = PrivateCA(tmp_path)
    with activity_relay(tmp_path / "relay", ca, RELAY_HOST) as relay:
        async with AsyncExitStack() as stack:
            instances, fronts = {}, {}
            for name, host in INSTANCE_HOSTS.items():
                port = free_port_on(host)
                settings = make_settings(
                    tmp_path / name,
                    port=port,
                    **{
                        "instance.domain": host,
                        "instance.base_url": f"https://{host}",
                        "server.listen_host": host,
                        "federation.ca_bundle": str(ca.certificate),
                    },
                )
                instances[name] = Instance(await stack.enter_async_context(serve_in_process(settings)))
                fronts[f"https://{host}"] = f"{host}:{port}"
            stack.enter_context(caddy_front(tmp_path / "front", ca, fronts))
            network = Network(relay, ca, instances, tmp_path)
            try:
                yield network
            except BaseException:
                print(relay.logs())
                raise


async def _subscribe_all(network: Network) -> None:
    for name in network.instances:
        added = await network.cli(name, "relay", "add", network.relay.inbox_url)
        assert "pending" in added
        assert await network.relay_state(name) == "pending"
    for name in network.instances:
        await network.until(
            lambda name=name: _is_accepted(network, name), what=f"the relay accepts {name}'s Follow"
        )


async def _is_accepted(network: Network, name: str) -> bool:
    return await network.relay_state(name) == "accepted"


async def _post(network: Network, name: str, username: str, text: str) -> dict[str, Any]:
    token = bearer(await make_token(network.instances[name].ctx, username))
    async with network.client(name) as http:
        posted = await http.post("/api/v1/statuses", data={"status": text}, headers=token)
    assert posted.status_code == 200, posted.text
    return posted.json()


async def test_a_public_post_reaches_another_instance_through_the_relay_only_in_its_federated_timeline(
    network: Network,
):
    a, b = network.instances["a"], network.instances["b"]
    await _subscribe_all(network)
    listed = await network.cli("a", "relay", "list")
    assert network.relay.inbox_url in listed and "\taccepted\t" in listed
    assert f"actor={network.relay.actor_url}" in listed

    status = await _post(network, "a", "alice", "hello through the relay")
    bob = bearer(await make_token(b.ctx, "bob"))
    await network.until(lambda: b.status(status["uri"]), what="A's post is stored on B")

    async with network.client("b") as http:
        public = (await http.get("/api/v1/timelines/public", headers=bob)).json()
        home = (await http.get("/api/v1/timelines/home", headers=bob)).json()
        notifications = (await http.get("/api/v1/notifications", headers=bob)).json()
    [relayed] = [item for item in public if item["uri"] == status["uri"]]
    assert relayed["reblog"] is None and relayed["account"]["acct"].startswith("alice@")
    assert "hello through the relay" in relayed["content"]
    assert home == [] and notifications == []
    assert "received=1" in await network.cli("b", "relay", "list")
    assert "sent=1" in await network.cli("a", "relay", "list")

    # The relay passes the edit and the deletion on as they are, signed by itself: B takes each as its
    # origin serves it.
    token = bearer(await make_token(a.ctx, "alice"))
    async with network.client("a") as http:
        edited = await http.put(f"/api/v1/statuses/{status['id']}", data={"status": "edited"}, headers=token)
        assert edited.status_code == 200, edited.text

    async def edited_on_b() -> bool:
        copy = await b.status(status["uri"])
        return copy is not None and "edited" in copy.content

    await network.until(edited_on_b, what="the edit reaches B through the relay")
    async with network.client("a") as http:
        deleted = await http.delete(f"/api/v1/statuses/{status['id']}", headers=token)
        assert deleted.status_code == 200, deleted.text

    async def deleted_on_b() -> bool:
        copy = await b.status(status["uri"])
        return copy is not None and copy.deleted_at is not None

    await network.until(deleted_on_b, what="the deletion reaches B through the relay")


async def test_a_domain_blocked_on_b_does_not_come_in_through_the_relay(network: Network):
    b, c = network.instances["b"], network.instances["c"]
    await moderation.block_domain(b.ctx, c.domain, actor="test", severity="suspend")
    await _subscribe_all(network)
    status = await _post(network, "c", "carol", "from a blocked server")

    async def refused() -> str | None:
        async with b.ctx.db.read() as session:
            jobs = (await session.execute(select(Job).where(Job.queue == "inbox"))).scalars()
            for job in jobs:
                activity = job.payload.get("activity", {})
                if activity.get("type") == "Announce" and activity.get("object") == status["uri"]:
                    return job.last_error if job.state == "failed" else None
        return None

    reason = await network.until(refused, what="B refuses the relayed post of a blocked domain")
    assert "not federated with" in reason
    assert await b.status(status["uri"]) is None


async def test_removing_the_relay_sends_undo_and_stops_sending(network: Network):
    a = network.instances["a"]
    await _subscribe_all(network)
    a_actor = f"{a.running.base_url}/actor"
    assert a_actor in network.relay.subscribers(network.ca)

    removed = await network.cli("a", "relay", "remove", network.relay.inbox_url)
    assert "removed" in removed
    await network.until(
        lambda: _unsubscribed(network, a_actor), what="the relay drops A after its Undo Follow"
    )
    assert network.relay.inbox_url not in await network.cli("a", "relay", "list")
    status = await _post(network, "a", "alice", "after leaving the relay")
    async with a.ctx.db.read() as session:
        deliveries = (await session.execute(select(Job.payload).where(Job.queue == "deliver"))).scalars()
        to_relay = [payload for payload in deliveries if payload["inbox"] == network.relay.inbox_url]
    # the Follow and its Undo, nothing for the post
    assert len(to_relay) == 2, (to_relay, status["uri"])


async def _unsubscribed(network: Network, actor: str) -> bool:
    return actor not in network.relay.subscribers(network.ca)
