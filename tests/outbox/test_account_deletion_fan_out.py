"""A deleted account's `Delete(Person)` goes to every remote server this one knows, as before, but its
transaction writes one `fan_out` job (audience `known_servers`) and no delivery: the job expands into one
delivery per distinct inbox a page at a time, followers or not, and leaves out gone accounts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from outbox.actions import delete_local_account
from outbox.addressing import PRIORITY_FOLLOWERS
from outbox.fan_out import expand_fan_out
from storage.deliveries import DELIVER_QUEUE, FAN_OUT_QUEUE, KNOWN_SERVERS
from storage.models import Account, Follow
from storage.queue import claim
from support.outbox_helpers import delivery_jobs, jobs_of

HOSTS = 5
ACCOUNTS_PER_HOST = 3
PERSONAL = 4  # the host whose accounts have no shared inbox


async def test_account_deletion_writes_one_fan_out_job_to_every_known_server(ctx, make_local):  # type: ignore[no-untyped-def]
    alice = await make_local("alice")
    async with ctx.db.transaction() as session:
        remotes = [
            Account(
                username=f"r{index}",
                domain=f"h{index % HOSTS}.example",
                uri=f"https://h{index % HOSTS}.example/users/r{index}",
                inbox_url=f"https://h{index % HOSTS}.example/users/r{index}/inbox",
                shared_inbox_url=None
                if index % HOSTS == PERSONAL
                else f"https://h{index % HOSTS}.example/inbox",
            )
            for index in range(HOSTS * ACCOUNTS_PER_HOST)
        ]
        gone = Account(
            username="gone",
            domain="gone.example",
            uri="https://gone.example/users/gone",
            inbox_url="https://gone.example/users/gone/inbox",
            gone_at=datetime.now(UTC),
        )
        session.add_all([*remotes, gone])
        await session.flush()
        session.add(Follow(account_id=remotes[0].id, target_account_id=alice.id))  # one follower; all hear

    deleted = await delete_local_account(ctx, "alice", actor="cli:test")

    assert deleted.servers == HOSTS
    assert await jobs_of(ctx, DELIVER_QUEUE) == []  # nothing per inbox in the deletion's transaction
    [fan_out] = await jobs_of(ctx, FAN_OUT_QUEUE)
    assert fan_out.payload["audience"] == KNOWN_SERVERS and fan_out.payload["priority"] == PRIORITY_FOLLOWERS
    personal = [
        f"https://h{PERSONAL}.example/users/r{i}/inbox" for i in range(len(remotes)) if i % HOSTS == PERSONAL
    ]
    shared = [f"https://h{host}.example/inbox" for host in range(HOSTS) if host != PERSONAL]
    # Expanded two accounts a page: shared inboxes recur across pages and are still queued once.
    [claimed] = await claim(ctx.db, FAN_OUT_QUEUE, worker_id="test", limit=1)
    queued = await expand_fan_out(ctx.db, claimed, page_size=2)
    deliveries = await delivery_jobs(ctx)
    assert queued == len(deliveries)
    assert Counter(job.payload["inbox"] for job in deliveries) == Counter(shared + personal)
    assert {job.payload["sender_id"] for job in deliveries} == {alice.id}
    assert {job.priority for job in deliveries} == {PRIORITY_FOLLOWERS}
