"""CORS on the API surfaces, through the live app."""

from __future__ import annotations

from support.instance import RunningInstance


async def test_preflight_is_answered_for_api_paths(instance: RunningInstance) -> None:
    async with instance.client() as client:
        response = await client.options(
            "/api/v1/instance",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "authorization, content-type"


async def test_responses_expose_link_to_browsers(instance: RunningInstance) -> None:
    async with instance.client() as client:
        api = await client.get("/api/v1/no-such-endpoint", headers={"Origin": "https://app.example"})
        well_known = await client.get("/.well-known/nodeinfo", headers={"Origin": "https://app.example"})
        page = await client.get("/@nobody", headers={"Origin": "https://app.example"})
    for response in (api, well_known):
        assert response.headers["access-control-allow-origin"] == "*"
        assert "Link" in response.headers["access-control-expose-headers"]
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/json")
    assert "access-control-allow-origin" not in page.headers  # HTML pages are not shared cross-origin


async def test_missing_avatar_placeholder_is_served(instance: RunningInstance) -> None:
    async with instance.client() as client:
        response = await client.get("/avatars/original/missing.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
