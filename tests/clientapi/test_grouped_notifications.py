"""Grouped notifications (`/api/v2/notifications` and its siblings) and the unread counts, through the real
endpoints on each backend, every response validated against the Mastodon OpenAPI description."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from checked import call

from storage.models import Notification
from storage.notification_groups import new_group_key
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user
from support.openapi import validate_entity


def _groups(results: dict[str, Any]) -> list[tuple[str, int]]:
    return [(group["type"], group["notifications_count"]) for group in results["notification_groups"]]


async def _busy_morning(instance: RunningInstance) -> tuple[dict[str, httpx.AsyncClient], dict[str, Any]]:
    """alice posts; bob, carol and dave favourite it, bob and carol boost it, all three follow alice, and
    erin mentions her (newest last)."""
    clients = {}
    for name in ("alice", "bob", "carol", "dave", "erin"):
        clients[name] = instance.client(headers=bearer(await make_token(instance.ctx, name)))
    a = clients["alice"]
    post = await call(a, "POST", "/api/v1/statuses", data={"status": "good morning"})
    alice_id = post["account"]["id"]
    for name in ("bob", "carol", "dave"):
        await call(clients[name], "POST", f"/api/v1/statuses/{post['id']}/favourite")
    for name in ("bob", "carol"):
        await call(clients[name], "POST", f"/api/v1/statuses/{post['id']}/reblog")
    for name in ("bob", "carol", "dave"):
        await call(clients[name], "POST", f"/api/v1/accounts/{alice_id}/follow")
    await call(clients["erin"], "POST", "/api/v1/statuses", data={"status": "@alice hello"})
    return clients, post


async def test_grouped_notifications_pages_and_groups(instance_on_each_backend: RunningInstance) -> None:
    clients, post = await _busy_morning(instance_on_each_backend)
    try:
        a, b = clients["alice"], clients["bob"]
        results = await call(a, "GET", "/api/v2/notifications")
        validate_entity("GroupedNotificationsResults", results)
        validate_entity("NotificationGroup", results["notification_groups"])
        assert _groups(results) == [("mention", 1), ("follow", 3), ("reblog", 2), ("favourite", 3)]
        favourites = results["notification_groups"][3]
        assert favourites["group_key"].startswith(f"favourite-{post['id']}-")
        assert favourites["status_id"] == post["id"]
        assert [s["id"] for s in results["statuses"]] == [
            results["notification_groups"][0]["status_id"],
            post["id"],
        ]
        usernames = {account["id"]: account["username"] for account in results["accounts"]}
        assert [usernames[i] for i in favourites["sample_account_ids"]] == ["dave", "carol", "bob"]
        assert set(usernames.values()) == {"alice", "bob", "carol", "dave", "erin"}
        assert results["notification_groups"][0]["group_key"].startswith("ungrouped-")
        # The v1 notifications carry the same group keys.
        v1 = await call(a, "GET", "/api/v1/notifications", params={"types[]": "favourite"})
        assert {n["group_key"] for n in v1} == {favourites["group_key"]}

        # A page of two groups, then the next one from the Link header: it starts below the newest follow,
        # which stood for its group, so the group's older follows come again under the same key (as in
        # Mastodon; clients merge groups by key).
        first = await a.get("/api/v2/notifications", params={"limit": 2})
        assert _groups(first.json()) == [("mention", 1), ("follow", 3)]
        next_url = httpx.URL(first.headers["link"].split(";")[0].strip("<>"))
        second = await call(a, "GET", next_url.path, params=next_url.params)
        assert _groups(second) == [("follow", 2), ("reblog", 2)]
        assert (
            second["notification_groups"][0]["group_key"]
            == first.json()["notification_groups"][1]["group_key"]
        )
        assert 'rel="prev"' in first.headers["link"]

        # Grouping only what the client can show; filtering by type.
        only_follows = await call(a, "GET", "/api/v2/notifications", params={"grouped_types[]": "follow"})
        assert (
            _groups(only_follows)
            == [("mention", 1), ("follow", 3)] + [("reblog", 1)] * 2 + [("favourite", 1)] * 3
        )
        only_reblogs = await call(a, "GET", "/api/v2/notifications", params={"types[]": ["reblog"]})
        assert _groups(only_reblogs) == [("reblog", 2)]
        reblogs = await call(
            a, "GET", "/api/v2/notifications", params={"exclude_types[]": ["favourite", "follow"]}
        )
        assert _groups(reblogs) == [("mention", 1), ("reblog", 2)]

        # Partial accounts: the newest account of each group in full, the others stripped down.
        partial = await call(a, "GET", "/api/v2/notifications", params={"expand_accounts": "partial_avatars"})
        validate_entity("PartialAccountWithAvatar", partial["partial_accounts"])
        full_names = {account["username"] for account in partial["accounts"]}
        assert full_names == {"erin", "dave", "carol", "alice"}
        assert {account["acct"] for account in partial["partial_accounts"]} == {"bob"}
        bad = await call(a, "GET", "/api/v2/notifications", params={"expand_accounts": "some"}, expect=400)
        assert "expand_accounts" in bad["error"]

        # One group, its accounts, and dismissing it.
        key = favourites["group_key"]
        one = await call(a, "GET", f"/api/v2/notifications/{key}")
        assert _groups(one) == [("favourite", 3)] and "page_min_id" not in one["notification_groups"][0]
        accounts = await call(a, "GET", f"/api/v2/notifications/{key}/accounts")
        validate_entity("Account", accounts)
        assert [account["username"] for account in accounts] == ["dave", "carol", "bob"]
        await call(b, "GET", f"/api/v2/notifications/{key}", expect=404)  # not bob's
        await call(b, "POST", f"/api/v2/notifications/{key}/dismiss")  # dismisses nothing of alice's
        assert _groups(await call(a, "GET", f"/api/v2/notifications/{key}")) == [("favourite", 3)]
        assert await call(a, "POST", f"/api/v2/notifications/{key}/dismiss") == {}
        await call(a, "GET", f"/api/v2/notifications/{key}", expect=404)
        await call(a, "GET", "/api/v2/notifications/ungrouped-12x", expect=404)
        mention_key = results["notification_groups"][0]["group_key"]
        assert _groups(await call(a, "GET", f"/api/v2/notifications/{mention_key}")) == [("mention", 1)]
        await call(a, "POST", f"/api/v2/notifications/{mention_key}/dismiss")
        assert _groups(await call(a, "GET", "/api/v2/notifications")) == [("follow", 3), ("reblog", 2)]
    finally:
        for client in clients.values():
            await client.aclose()


async def test_unread_counts_follow_the_notifications_marker(
    instance_on_each_backend: RunningInstance,
) -> None:
    clients, _ = await _busy_morning(instance_on_each_backend)
    try:
        a = clients["alice"]
        assert await call(a, "GET", "/api/v1/notifications/unread_count") == {"count": 9}
        assert await call(a, "GET", "/api/v2/notifications/unread_count") == {"count": 4}
        assert await call(a, "GET", "/api/v1/notifications/unread_count", params={"limit": 5}) == {"count": 5}
        assert await call(
            a, "GET", "/api/v2/notifications/unread_count", params={"grouped_types[]": "favourite"}
        ) == {"count": 7}
        notifications = await call(a, "GET", "/api/v1/notifications")
        # Read up to the oldest follow: the newer follows and the mention stay unread.
        follows = [n for n in notifications if n["type"] == "follow"]
        await call(a, "POST", "/api/v1/markers", data={"notifications[last_read_id]": follows[-1]["id"]})
        assert await call(a, "GET", "/api/v1/notifications/unread_count") == {"count": 3}
        assert await call(a, "GET", "/api/v2/notifications/unread_count") == {"count": 2}
        assert await call(a, "GET", "/api/v1/notifications/unread_count", params={"types[]": "mention"}) == {
            "count": 1
        }
        await call(a, "POST", "/api/v1/markers", data={"notifications[last_read_id]": notifications[0]["id"]})
        assert await call(a, "GET", "/api/v1/notifications/unread_count") == {"count": 0}
        assert await call(a, "GET", "/api/v2/notifications/unread_count") == {"count": 0}
    finally:
        for client in clients.values():
            await client.aclose()


async def test_groups_span_at_most_twelve_hours_from_their_start(instance: RunningInstance) -> None:
    """Follows within 12 hours of the first of their group join it; a later one starts a new group (the
    hours are those the notifications were created in, so the test writes them as if made then)."""
    alice = await make_user(instance.ctx, "alice")
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # hour buckets: 11.9 h later is still the 12th hour
    arrivals = {"bob": 0, "carol": 5, "dave": 11.9, "erin": 12.6, "frank": 14}
    followers = {name: await make_user(instance.ctx, name) for name in arrivals}
    async with instance.ctx.db.transaction() as session:
        for name, hours in arrivals.items():
            follower = followers[name]
            created_at = start + timedelta(hours=hours)
            key = await new_group_key(session, alice.id, "follow", None, created_at)
            session.add(
                Notification(
                    account_id=alice.id,
                    from_account_id=follower.id,
                    notification_type="follow",
                    group_key=key,
                    created_at=created_at,
                )
            )
            await session.flush()
    async with instance.client(headers=bearer(await make_token(instance.ctx, "alice"))) as a:
        results = await call(a, "GET", "/api/v2/notifications")
    usernames = {account["id"]: account["username"] for account in results["accounts"]}
    groups = [[usernames[i] for i in group["sample_account_ids"]] for group in results["notification_groups"]]
    assert groups == [["frank", "erin"], ["dave", "carol", "bob"]]
    hour = int(start.timestamp()) // 3600
    assert [group["group_key"] for group in results["notification_groups"]] == [
        f"follow-{hour + 12}",
        f"follow-{hour}",
    ]
