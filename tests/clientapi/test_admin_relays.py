"""The admin API's relays (a Plein extension): only an admin with `admin:*` scopes may list, add and remove
relays; adding queues the instance actor's Follow, removing its Undo, both audited as the admin's; /metrics
shows each relay's state."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Activity, AuditEntry
from support.instance import RunningInstance
from support.staff import role_bearer


async def test_an_admin_adds_lists_and_removes_a_relay(instance: RunningInstance):
    assert instance.ctx is not None
    admin = await role_bearer(instance, "ada", role="admin", scopes="admin:read admin:write")
    inbox = "https://relay.example/inbox"
    async with instance.client() as http:
        added = await http.post("/api/v1/admin/relays", json={"inbox_url": inbox}, headers=admin)
        assert added.status_code == 200, added.text
        relay = added.json()
        assert (relay["inbox_url"], relay["state"], relay["sent_count"]) == (inbox, "pending", 0)
        listed = (await http.get("/api/v1/admin/relays", headers=admin)).json()
        assert [item["id"] for item in listed] == [relay["id"]]
        metrics = (await http.get("/metrics")).text
        assert f'plein_relay_state{{relay="{inbox}",state="pending"}} 1.0' in metrics
        assert f'plein_relay_activities{{direction="sent",relay="{inbox}"}} 0.0' in metrics
        bad = await http.post("/api/v1/admin/relays", json={"inbox_url": "ftp://x/inbox"}, headers=admin)
        assert bad.status_code == 422 and "error" in bad.json()
        missing = await http.delete("/api/v1/admin/relays/12345", headers=admin)
        assert missing.status_code == 404
        removed = await http.delete(f"/api/v1/admin/relays/{relay['id']}", headers=admin)
        assert removed.status_code == 200
        assert (await http.get("/api/v1/admin/relays", headers=admin)).json() == []
    async with instance.ctx.db.read() as session:
        sent = list((await session.execute(select(Activity.activity_type).order_by(Activity.id))).scalars())
        audited = list((await session.execute(select(AuditEntry.action, AuditEntry.actor))).all())
    assert sent == ["Follow", "Undo"]
    assert sorted(audited) == [("relay.add", "@ada"), ("relay.remove", "@ada")]


async def test_relays_are_for_admins_with_admin_scopes(instance: RunningInstance):
    user = await role_bearer(instance, "someone", role="moderator", scopes="admin:read admin:write")
    unscoped = await role_bearer(instance, "ada", role="admin", scopes="read write")
    async with instance.client() as http:
        for headers in (user, unscoped):
            listed = await http.get("/api/v1/admin/relays", headers=headers)
            added = await http.post(
                "/api/v1/admin/relays", json={"inbox_url": "https://relay.example/inbox"}, headers=headers
            )
            assert (listed.status_code, added.status_code) == (403, 403)
        assert (await http.get("/api/v1/admin/relays")).status_code == 401
