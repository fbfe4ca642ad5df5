"""Migration `polls`: the polls of remote `Question`s, kept until then as JSON in `statuses.poll`, become
`polls` rows (options, counts, single or multiple choice, end, voters) and the column goes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import inspect, select, text
from test_canonical_hosts_migration import EARLY, _account, _insert

from storage.db import Database
from storage.migrate import migrate
from storage.models import Poll


async def test_remote_poll_json_becomes_rows(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, "worker_processes")
        await _insert(db, "accounts", [_account(1, "ann", "remote.example")])
        status = {
            "account_id": 1,
            "local": False,
            "object_type": "Question",
            "content": "<p>tea?</p>",
            "text": "",
            "spoiler_text": "",
            "sensitive": False,
            "visibility": "public",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "created_at": EARLY,
        }
        poll = {
            "options": [{"title": "yes", "votes_count": 3}, {"title": "no", "votes_count": 1}],
            "multiple": True,
            "expires_at": "2030-01-01T00:00:00+00:00",
            "voters_count": 2,
        }
        await _insert(
            db,
            "statuses",
            [
                {**status, "id": 10, "uri": "https://remote.example/q/1", "poll": json.dumps(poll)},
                {**status, "id": 11, "uri": "https://remote.example/n/2", "poll": None},
            ],
        )
        await migrate(db)
        async with db.read() as session:
            [row] = (await session.execute(select(Poll))).scalars()
            columns = await session.run_sync(
                lambda sync: [c["name"] for c in inspect(sync.connection()).get_columns("statuses")]
            )
            assert (await session.execute(text("SELECT count(*) FROM polls"))).scalar_one() == 1
        assert (row.status_id, row.account_id) == (10, 1)
        assert row.options == ["yes", "no"] and row.tallies == [3, 1] and row.votes_count == 4
        assert row.multiple is True and row.voters_count == 2 and row.hide_totals is False
        assert row.expires_at == datetime(2030, 1, 1, tzinfo=UTC)
        assert "poll" not in columns
    finally:
        await db.dispose()
