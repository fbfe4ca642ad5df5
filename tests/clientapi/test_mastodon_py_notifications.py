"""Mastodon 4.3's notification calls with the real Mastodon.py client against a live instance: unread
counts, grouped notifications (a page, one group, its accounts, dismissing it), the notification policy and
requests (filtered private mentions, accept, dismiss, merged). Mastodon.py checks the server's version
before each 4.3 call, so these also prove the version the instance reports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from mastodon import Mastodon

from support.instance import RunningInstance
from support.oauth import make_token

T = TypeVar("T")


async def in_thread(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(call, *args, **kwargs)


async def test_mastodon_py_drives_grouped_notifications_and_requests(instance: RunningInstance) -> None:
    clients = {
        name: Mastodon(access_token=await make_token(instance.ctx, name), api_base_url=instance.base_url)
        for name in ("alice", "bob", "carol", "dave")
    }
    alice, bob, carol, dave = (clients[name] for name in ("alice", "bob", "carol", "dave"))
    assert (await in_thread(alice.instance_v2)).api_versions.mastodon == 2

    post = await in_thread(alice.status_post, "a post to like")
    for fan in (bob, carol, dave):
        await in_thread(fan.status_favourite, post.id)
    await in_thread(bob.status_post, "@alice hello in public")
    assert (await in_thread(alice.notifications_unread_count)).count == 4
    assert await in_thread(alice.unread_grouped_notifications_count) == 2

    grouped = await in_thread(alice.grouped_notifications)
    kinds = [(group.type, group.notifications_count) for group in grouped.notification_groups]
    assert kinds == [("mention", 1), ("favourite", 3)]
    favourites = grouped.notification_groups[1]
    assert str(favourites.status_id) == str(post.id)
    assert {account.username for account in grouped.accounts} >= {"bob", "dave"}
    one = await in_thread(alice.grouped_notification, favourites.group_key)
    assert one.notification_groups[0].notifications_count == 3
    fans = await in_thread(alice.grouped_notification_accounts, favourites.group_key)
    assert [account.username for account in fans] == ["dave", "carol", "bob"]
    await in_thread(alice.dismiss_grouped_notification, favourites.group_key)
    left = await in_thread(alice.grouped_notifications)
    assert [group.type for group in left.notification_groups] == ["mention"]
    await in_thread(
        alice.markers_set, ["notifications"], [left.notification_groups[0].most_recent_notification_id]
    )
    assert (await in_thread(alice.notifications_unread_count)).count == 0

    # Private mentions from strangers are filtered by default into requests.
    policy = await in_thread(alice.notifications_policy)
    assert policy.for_private_mentions == "filter" and policy.summary.pending_requests_count == 0
    await in_thread(carol.status_post, "@alice a secret", visibility="direct")
    await in_thread(dave.status_post, "@alice an offer", visibility="direct")
    requests = await in_thread(alice.notification_requests)
    assert [request.account.username for request in requests] == ["dave", "carol"]
    assert (await in_thread(alice.notification_request, requests[1].id)).notifications_count == "1"
    await in_thread(alice.accept_notification_request, requests[1].id)
    await in_thread(alice.dismiss_notification_request, requests[0].id)
    assert await in_thread(alice.notifications_merged) is True
    assert await in_thread(alice.notification_requests) == []
    assert (await in_thread(alice.notifications_unread_count)).count == 1  # carol's, released
    changed = await in_thread(alice.update_notifications_policy, for_private_mentions="accept")
    assert changed.for_private_mentions == "accept"
    await in_thread(dave.status_post, "@alice once more", visibility="direct")
    assert (await in_thread(alice.notifications_unread_count)).count == 2
