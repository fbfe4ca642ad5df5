"""The quote endpoints and entities on each database backend (local quotes: no network): quoting, the
Quote and QuoteApproval entities, a status's quotes with paging, revoking, and the interaction policy."""

from __future__ import annotations

from checked import call

from support.instance import RunningInstance
from support.oauth import bearer, make_token


async def test_quotes_on_each_backend(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    async with instance.client(headers=alice) as a, instance.client(headers=bob) as b:
        original = await call(a, "POST", "/api/v1/statuses", json={"status": "quotable"})
        quotes = [
            await call(
                b, "POST", "/api/v1/statuses", json={"status": f"q{n}", "quoted_status_id": original["id"]}
            )
            for n in range(3)
        ]
        assert all(q["quote"]["state"] == "accepted" for q in quotes)
        # Inside a quote, the quoted status's own quote is shallow.
        nested = await call(
            b, "POST", "/api/v1/statuses", json={"status": "deeper", "quoted_status_id": quotes[0]["id"]}
        )
        assert nested["quote"]["quoted_status"]["quote"] == {
            "state": "accepted",
            "quoted_status_id": original["id"],
        }

        first = await a.get(f"/api/v1/statuses/{original['id']}/quotes", params={"limit": 2})
        assert first.status_code == 200 and "Link" in first.headers
        assert [s["id"] for s in first.json()] == [quotes[2]["id"], quotes[1]["id"]]
        assert (await call(a, "GET", f"/api/v1/statuses/{original['id']}"))["quotes_count"] == 3
        # Only the quoted author lists them.
        assert (await b.get(f"/api/v1/statuses/{original['id']}/quotes")).status_code == 404

        revoked = await call(a, "POST", f"/api/v1/statuses/{original['id']}/quotes/{quotes[0]['id']}/revoke")
        assert revoked["id"] == quotes[0]["id"] and revoked["quote"]["state"] == "revoked"
        assert (await call(a, "GET", f"/api/v1/statuses/{original['id']}"))["quotes_count"] == 2
        assert (
            await b.post(f"/api/v1/statuses/{original['id']}/quotes/{quotes[1]['id']}/revoke")
        ).status_code == 403

        followers_only = await call(
            a,
            "PUT",
            f"/api/v1/statuses/{original['id']}/interaction_policy",
            json={"quote_approval_policy": "followers"},
        )
        assert followers_only["quote_approval"] == {
            "automatic": ["followers"],
            "manual": [],
            "current_user": "automatic",
        }
        as_bob = await call(b, "GET", f"/api/v1/statuses/{original['id']}")
        assert as_bob["quote_approval"]["current_user"] == "denied"
        bad = await a.put(
            f"/api/v1/statuses/{original['id']}/interaction_policy", json={"quote_approval_policy": "all"}
        )
        assert bad.status_code == 422 and "error" in bad.json()
    async with instance.client() as anonymous:
        seen = await call(anonymous, "GET", f"/api/v1/statuses/{original['id']}")
    assert seen["quote_approval"]["current_user"] == "unknown"
