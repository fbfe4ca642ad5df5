"""Every 422 is Mastodon's validation error: `{"error": "Validation failed: …", "details": {field: [{"error":
code, "description": …}]}}`, from the parameter readers, the client API's own checks and the outbox actions
alike, and the refused request changes nothing."""

from __future__ import annotations

from typing import Any

from checked import call

from support.instance import RunningInstance
from support.oauth import bearer, make_token
from support.openapi import validate_entity

OOB = "urn:ietf:wg:oauth:2.0:oob"


def _only_detail(body: dict[str, Any]) -> tuple[str, str]:
    """The one (field, code) a validation error names."""
    validate_entity("ValidationError", body)
    assert body["error"].startswith("Validation failed: ")
    [(field, [detail])] = body["details"].items()
    assert detail["description"] and detail["description"] in body["error"]
    return field, detail["error"]


async def test_validation_errors_name_the_field_and_the_code(instance: RunningInstance) -> None:
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as a:
        blank = await call(a, "POST", "/api/v1/statuses", data={"status": "  "}, expect=422)
        assert _only_detail(blank) == ("text", "ERR_BLANK")
        too_long = await call(a, "POST", "/api/v1/statuses", data={"status": "x" * 6000}, expect=422)
        assert _only_detail(too_long) == ("text", "ERR_TOO_LONG")
        visibility = await call(
            a, "POST", "/api/v1/statuses", data={"status": "hi", "visibility": "everyone"}, expect=422
        )
        assert _only_detail(visibility) == ("visibility", "ERR_INCLUSION")
        untitled = await call(a, "POST", "/api/v1/lists", data={"title": ""}, expect=422)
        assert _only_detail(untitled) == ("title", "ERR_BLANK")
        limit = await call(a, "GET", "/api/v1/timelines/home", params={"limit": "many"}, expect=422)
        assert _only_detail(limit) == ("limit", "ERR_INVALID")
        boolean = await call(a, "GET", "/api/v1/timelines/public", params={"local": "perhaps"}, expect=422)
        assert _only_detail(boolean) == ("local", "ERR_INVALID")
        missing = await call(a, "POST", "/api/v1/apps", data={"redirect_uris": OOB}, expect=422)
        assert _only_detail(missing) == ("client_name", "ERR_BLANK")
        broken = await a.post(
            "/api/v1/statuses", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 422
        assert broken.json()["details"] == {
            "base": [{"error": "ERR_INVALID", "description": "The request body is not valid JSON"}]
        }
        # Nothing was posted by any of the refused requests.
        me = await call(a, "GET", "/api/v1/accounts/verify_credentials")
        assert me["statuses_count"] == 0
        assert await call(a, "GET", "/api/v1/lists") == []
