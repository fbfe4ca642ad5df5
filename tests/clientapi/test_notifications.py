"""Notifications (list with filters, get, dismiss, clear) and markers through the real endpoints, each
response validated against the Mastodon OpenAPI description."""

from __future__ import annotations

from checked import call

from support.instance import RunningInstance
from support.oauth import bearer, make_token
from support.openapi import validate_entity


async def test_notifications_list_filter_get_dismiss_clear(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    carol = bearer(await make_token(instance.ctx, "carol"))
    async with (
        instance.client(headers=alice) as a,
        instance.client(headers=bob) as b,
        instance.client(headers=carol) as c,
    ):
        status = await call(a, "POST", "/api/v1/statuses", data={"status": "notice me"})
        await call(b, "POST", f"/api/v1/statuses/{status['id']}/favourite")
        await call(c, "POST", f"/api/v1/statuses/{status['id']}/reblog")
        mention = await call(b, "POST", "/api/v1/statuses", data={"status": "hi @alice"})
        everything = await call(a, "GET", "/api/v1/notifications")
        validate_entity("Notification", everything, all_properties=True)
        assert [n["type"] for n in everything] == ["mention", "reblog", "favourite"]
        assert everything[0]["status"]["id"] == mention["id"]
        assert everything[1]["account"]["username"] == "carol"
        only = await call(a, "GET", "/api/v1/notifications", params={"types[]": ["favourite", "reblog"]})
        assert [n["type"] for n in only] == ["reblog", "favourite"]
        without = await call(a, "GET", "/api/v1/notifications", params={"exclude_types[]": "mention"})
        assert [n["type"] for n in without] == ["reblog", "favourite"]
        bob_id = everything[0]["account"]["id"]
        from_bob = await call(a, "GET", "/api/v1/notifications", params={"account_id": bob_id})
        assert [n["type"] for n in from_bob] == ["mention", "favourite"]
        paged = await a.get("/api/v1/notifications", params={"limit": 1})
        assert 'rel="next"' in paged.headers["link"] and len(paged.json()) == 1
        one = await call(a, "GET", f"/api/v1/notifications/{everything[1]['id']}")
        assert one["id"] == everything[1]["id"]
        await call(b, "GET", f"/api/v1/notifications/{everything[1]['id']}", expect=404)
        assert await call(a, "POST", f"/api/v1/notifications/{everything[1]['id']}/dismiss") == {}
        await call(a, "GET", f"/api/v1/notifications/{everything[1]['id']}", expect=404)
        assert len(await call(a, "GET", "/api/v1/notifications")) == 2
        assert await call(a, "POST", "/api/v1/notifications/clear") == {}
        assert await call(a, "GET", "/api/v1/notifications") == []


async def test_notification_about_a_deleted_status_disappears(instance: RunningInstance) -> None:
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    async with instance.client(headers=alice) as a, instance.client(headers=bob) as b:
        mention = await call(b, "POST", "/api/v1/statuses", data={"status": "hey @alice"})
        assert len(await call(a, "GET", "/api/v1/notifications")) == 1
        await call(b, "DELETE", f"/api/v1/statuses/{mention['id']}")
        assert await call(a, "GET", "/api/v1/notifications") == []


async def test_markers_get_and_save(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as a:
        assert await call(a, "GET", "/api/v1/markers", params={"timeline[]": ["home", "notifications"]}) == {}
        saved = await call(a, "POST", "/api/v1/markers", data={"home[last_read_id]": "103"})
        assert saved["home"]["last_read_id"] == "103" and saved["home"]["version"] == 1
        again = await call(
            a,
            "POST",
            "/api/v1/markers",
            json={"home": {"last_read_id": "104"}, "notifications": {"last_read_id": "7"}},
        )
        validate_entity("Marker", [again["home"], again["notifications"]], all_properties=True)
        assert again["home"]["version"] == 2 and again["notifications"]["version"] == 1
        read = await call(a, "GET", "/api/v1/markers", params={"timeline[]": "home"})
        assert list(read) == ["home"] and read["home"]["last_read_id"] == "104"
        await call(a, "POST", "/api/v1/markers", data={"home[last_read_id]": "not-an-id"}, expect=422)
