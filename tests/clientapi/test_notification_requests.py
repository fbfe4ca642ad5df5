"""Notification policy and requests through the real endpoints on each backend: what the policy filters
waits in a request and leaves the notifications (and their unread count), accepting releases it and lets
the sender through from then on, dismissing deletes it, `drop` stores nothing. Responses are validated
against the Mastodon OpenAPI description."""

from __future__ import annotations

from typing import Any

import httpx
from checked import call
from sqlalchemy import func, select

from storage.models import Notification
from support.instance import RunningInstance
from support.oauth import bearer, make_token
from support.openapi import validate_entity


async def _clients(instance: RunningInstance, *names: str) -> dict[str, httpx.AsyncClient]:
    return {name: instance.client(headers=bearer(await make_token(instance.ctx, name))) for name in names}


async def _account_id(client: httpx.AsyncClient) -> str:
    return str((await call(client, "GET", "/api/v1/accounts/verify_credentials"))["id"])


async def _stored(instance: RunningInstance, account_id: str) -> int:
    async with instance.ctx.db.read() as session:
        statement = (
            select(func.count()).select_from(Notification).where(Notification.account_id == int(account_id))
        )
        return int(await session.scalar(statement) or 0)


def _types(notifications: list[dict[str, Any]]) -> list[str]:
    return [notification["type"] for notification in notifications]


async def test_private_mentions_from_strangers_wait_in_requests(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    clients = await _clients(instance, "alice", "bob", "carol", "dave")
    a, b, c, d = clients["alice"], clients["bob"], clients["carol"], clients["dave"]
    try:
        policy = await call(a, "GET", "/api/v2/notifications/policy")
        validate_entity("NotificationPolicy", policy, all_properties=True)
        assert policy == {
            "for_not_following": "accept",
            "for_not_followers": "accept",
            "for_new_accounts": "accept",
            "for_private_mentions": "filter",
            "for_limited_accounts": "filter",
            "summary": {"pending_requests_count": 0, "pending_notifications_count": 0},
        }
        dm = await call(b, "POST", "/api/v1/statuses", data={"status": "@alice psst", "visibility": "direct"})
        await call(b, "POST", "/api/v1/statuses", data={"status": "@alice again", "visibility": "direct"})
        await call(b, "POST", "/api/v1/statuses", data={"status": "@alice in public"})
        # A direct reply to alice's own direct mention of carol is never filtered.
        question = await call(
            a, "POST", "/api/v1/statuses", data={"status": "@carol ok?", "visibility": "direct"}
        )
        await call(
            c,
            "POST",
            "/api/v1/statuses",
            data={"status": "@alice yes", "visibility": "direct", "in_reply_to_id": question["id"]},
        )
        await call(d, "POST", "/api/v1/statuses", data={"status": "@alice buy this", "visibility": "direct"})

        shown = await call(a, "GET", "/api/v1/notifications")
        assert [(n["type"], n["account"]["username"]) for n in shown] == [
            ("mention", "carol"),
            ("mention", "bob"),
        ]
        assert await call(a, "GET", "/api/v1/notifications/unread_count") == {"count": 2}
        everything = await call(a, "GET", "/api/v1/notifications", params={"include_filtered": "true"})
        assert len(everything) == 5
        summary = (await call(a, "GET", "/api/v2/notifications/policy"))["summary"]
        assert summary == {"pending_requests_count": 2, "pending_notifications_count": 3}

        requests = await call(a, "GET", "/api/v1/notifications/requests")
        validate_entity("NotificationRequest", requests, all_properties=True)
        assert [(r["account"]["username"], r["notifications_count"]) for r in requests] == [
            ("dave", "1"),
            ("bob", "2"),
        ]
        bob_request, dave_request = requests[1], requests[0]
        assert bob_request["last_status"]["content"].endswith("again</p>")
        one = await call(a, "GET", f"/api/v1/notifications/requests/{bob_request['id']}")
        assert one["id"] == bob_request["id"]
        await call(b, "GET", f"/api/v1/notifications/requests/{bob_request['id']}", expect=404)  # not bob's
        await call(b, "POST", f"/api/v1/notifications/requests/{bob_request['id']}/accept", expect=404)
        await call(a, "GET", "/api/v1/notifications/requests/404", expect=404)
        await call(a, "GET", "/api/v1/notifications/requests/x1", expect=404)
        paged = await a.get("/api/v1/notifications/requests", params={"limit": 1})
        assert len(paged.json()) == 1 and 'rel="next"' in paged.headers["link"]

        # Accepting releases bob's mentions, and bob is never filtered again.
        assert await call(a, "POST", f"/api/v1/notifications/requests/{bob_request['id']}/accept") == {}
        assert await call(a, "GET", "/api/v1/notifications/requests/merged") == {"merged": True}
        released = await call(a, "GET", "/api/v1/notifications")
        assert [n["status"]["id"] for n in released if n["account"]["username"] == "bob"][-1] == dm["id"]
        assert len(released) == 4
        await call(b, "POST", "/api/v1/statuses", data={"status": "@alice thanks", "visibility": "direct"})
        assert len(await call(a, "GET", "/api/v1/notifications")) == 5
        # Dismissing deletes dave's.
        assert await call(a, "POST", f"/api/v1/notifications/requests/{dave_request['id']}/dismiss") == {}
        assert await call(a, "GET", "/api/v1/notifications/requests") == []
        assert len(await call(a, "GET", "/api/v1/notifications", params={"include_filtered": "true"})) == 5
        summary = (await call(a, "GET", "/api/v2/notifications/policy"))["summary"]
        assert summary == {"pending_requests_count": 0, "pending_notifications_count": 0}
    finally:
        for client in clients.values():
            await client.aclose()


async def test_policy_filters_and_drops_strangers(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    clients = await _clients(instance, "alice", "erin", "frank", "gina", "hugo")
    a, e, f, g, h = (clients[name] for name in ("alice", "erin", "frank", "gina", "hugo"))
    try:
        alice_id, frank_id = await _account_id(a), await _account_id(f)
        await call(a, "POST", f"/api/v1/accounts/{frank_id}/follow")
        changed = await call(a, "PATCH", "/api/v2/notifications/policy", json={"for_not_following": "drop"})
        validate_entity("NotificationPolicy", changed, all_properties=True)
        assert changed["for_not_following"] == "drop" and changed["for_private_mentions"] == "filter"
        post = await call(a, "POST", "/api/v1/statuses", data={"status": "hello"})
        before = await _stored(instance, alice_id)
        await call(e, "POST", "/api/v1/statuses", data={"status": "@alice hi"})
        await call(e, "POST", f"/api/v1/statuses/{post['id']}/favourite")
        await call(e, "POST", f"/api/v1/accounts/{alice_id}/follow")
        assert await _stored(instance, alice_id) == before  # dropped: never stored
        await call(f, "POST", "/api/v1/statuses", data={"status": "@alice hi from a friend"})
        assert _types(await call(a, "GET", "/api/v1/notifications")) == ["mention"]

        # Filter instead of drop: strangers' mentions wait in requests, their favourites are only held.
        await call(a, "PATCH", "/api/v2/notifications/policy", data={"for_not_following": "filter"})
        await call(g, "POST", "/api/v1/statuses", data={"status": "@alice hi"})
        await call(h, "POST", "/api/v1/statuses", data={"status": "@alice hey"})
        await call(g, "POST", f"/api/v1/statuses/{post['id']}/favourite")
        assert _types(await call(a, "GET", "/api/v1/notifications")) == ["mention"]
        held = await call(a, "GET", "/api/v1/notifications", params={"include_filtered": True})
        assert _types(held) == ["favourite", "mention", "mention", "mention"]
        requests = await call(a, "GET", "/api/v1/notifications/requests")
        assert [r["account"]["username"] for r in requests] == ["hugo", "gina"]
        # Several at once: others' and unknown ids are ignored.
        await call(
            a, "POST", "/api/v1/notifications/requests/accept", data={"id[]": [requests[1]["id"], "999"]}
        )
        await call(a, "POST", "/api/v1/notifications/requests/dismiss", json={"id": [requests[0]["id"]]})
        assert await call(a, "GET", "/api/v1/notifications/requests") == []
        shown = await call(a, "GET", "/api/v1/notifications")
        assert [(n["type"], n["account"]["username"]) for n in shown] == [
            ("favourite", "gina"),
            ("mention", "gina"),
            ("mention", "frank"),
        ]

        # The v1 reading of the policy, and bad input that changes nothing.
        # (The OpenAPI description has no v1 policy path: its entity is checked instead.)
        v1 = (await a.get("/api/v1/notifications/policy")).json()
        validate_entity("V1NotificationPolicy", v1, all_properties=True)
        assert v1["filter_not_following"] is True and v1["filter_new_accounts"] is False
        v1 = (await a.put("/api/v1/notifications/policy", data={"filter_not_following": "false"})).json()
        validate_entity("V1NotificationPolicy", v1, all_properties=True)
        assert v1["filter_not_following"] is False
        wrong = await call(
            a, "PATCH", "/api/v2/notifications/policy", data={"for_new_accounts": "maybe"}, expect=422
        )
        assert wrong["details"] == {
            "for_new_accounts": [
                {
                    "error": "ERR_INCLUSION",
                    "description": "for_new_accounts must be one of accept, filter, drop",
                }
            ]
        }
        policy = await call(a, "GET", "/api/v2/notifications/policy")
        assert policy["for_new_accounts"] == "accept" and policy["for_not_following"] == "accept"
        await call(e, "GET", "/api/v2/notifications/policy")  # everyone has one
        readonly = instance.client(headers=bearer(await make_token(instance.ctx, "alice", "read")))
        async with readonly:
            await call(
                readonly,
                "PATCH",
                "/api/v2/notifications/policy",
                data={"for_new_accounts": "drop"},
                expect=403,
            )
    finally:
        for client in clients.values():
            await client.aclose()
