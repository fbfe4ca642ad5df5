"""Migration `canonical_hosts`: hosts and domains stored before the one host identity are rewritten to their
canonical form, merging rows that turn out to name the same domain."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from storage.db import Database
from storage.domains import policy_for_host
from storage.migrate import migrate
from storage.models import Account, DeliveryHost, DomainAllow, DomainBlock, Job

EARLY = datetime(2024, 1, 1, tzinfo=UTC)
LATE = datetime(2025, 1, 1, tzinfo=UTC)


def _account(account_id: int, username: str, domain: str) -> dict[str, object]:
    return {
        "id": account_id,
        "username": username,
        "domain": domain,
        "uri": f"https://{domain}/users/{username}/{account_id}",
        "actor_type": "Person",
        "display_name": "",
        "note": "",
        "note_source": "",
        "fields": "[]",
        "locked": False,
        "bot": False,
        "discoverable": False,
        "indexable": False,
        "also_known_as": "[]",
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": 0,
        "created_at": EARLY,
        "updated_at": EARLY,
    }


async def _insert(db: Database, table: str, rows: list[dict[str, object]]) -> None:
    async with db.transaction() as session:
        for row in rows:
            columns = ", ".join(row)
            values = ", ".join(f":{name}" for name in row)
            await session.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), row)


async def test_stored_hosts_are_rewritten_to_their_canonical_form(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, "0001")
        block = {"reject_reports": False, "created_at": LATE}
        await _insert(
            db,
            "domain_blocks",
            [
                {
                    "domain": "blocked.test.",
                    "severity": "silence",
                    "reject_media": False,
                    "comment": "a",
                    **block,
                },
                {
                    "domain": "blocked.test",
                    "severity": "suspend",
                    "reject_media": False,
                    "comment": "",
                    **block,
                },
                {"domain": "Other.Test", "severity": "silence", "reject_media": True, "comment": "", **block},
                {
                    "domain": "bücher.test",
                    "severity": "suspend",
                    "reject_media": False,
                    "comment": "idn",
                    **block,
                },
                {"domain": "bad host", "severity": "suspend", "reject_media": False, "comment": "", **block},
            ],
        )
        await _insert(
            db,
            "domain_allows",
            [
                {"domain": "allowed.test.", "created_at": EARLY},
                {"domain": "allowed.test", "created_at": EARLY},
                {"domain": "ALLOWED2.test:443", "created_at": EARLY},
            ],
        )
        await _insert(
            db,
            "accounts",
            [
                _account(1, "ann", "remote.test."),
                _account(2, "bob", "remote.test"),
                _account(3, "bob", "REMOTE.test."),  # collides with 2 once canonical: left for a moderator
                _account(4, "eve", "bücher.test:443"),
            ],
        )
        await _insert(
            db,
            "delivery_hosts",
            [
                {"host": "remote.test.", "consecutive_failures": 3},
                {"host": "remote.test", "consecutive_failures": 0},
                {"host": "peer.test:443", "consecutive_failures": 1},
            ],
        )
        job = {"queue": "deliver", "payload": "{}", "priority": 0, "tries": 0, "next_try_at": EARLY}
        await _insert(
            db,
            "jobs",
            [
                {"id": 1, "host": "Peer.Test.", "state": "pending", "created_at": EARLY, **job},
                {"id": 2, "host": "Peer.Test.", "state": "done", "created_at": EARLY, **job},
            ],
        )

        await migrate(db)

        async with db.read() as session:
            blocks = {row.domain: row for row in (await session.execute(select(DomainBlock))).scalars()}
            allows = set((await session.execute(select(DomainAllow.domain))).scalars())
            accounts = dict((await session.execute(select(Account.id, Account.domain))).all())
            hosts = dict(
                (await session.execute(select(DeliveryHost.host, DeliveryHost.consecutive_failures))).all()
            )
            jobs = dict((await session.execute(select(Job.id, Job.host))).all())
            policy = await policy_for_host(session, "sub.xn--bcher-kva.test", allowlist_mode=True)
        assert set(blocks) == {"blocked.test", "other.test", "xn--bcher-kva.test", "bad host"}
        assert (blocks["blocked.test"].severity, blocks["blocked.test"].public_comment) == ("suspend", "a")
        assert (blocks["other.test"].severity, blocks["other.test"].reject_media) == ("silence", True)
        assert allows == {"allowed.test", "allowed2.test"}
        assert accounts == {1: "remote.test", 2: "remote.test", 3: "REMOTE.test.", 4: "xn--bcher-kva.test"}
        assert hosts == {"remote.test": 0, "peer.test": 1}
        assert jobs == {1: "peer.test", 2: "Peer.Test."}
        assert policy.suspended and not policy.allowed
    finally:
        await db.dispose()
