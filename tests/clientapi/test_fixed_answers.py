"""Endpoints with a fixed true answer: no translation language pairs (no engine is offered), and Mastodon's
retired identity proofs (an empty list for a known account, 404 for an unknown one, a token needed)."""

from __future__ import annotations

from checked import call

from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user


async def test_translation_languages_and_identity_proofs(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    account = await make_user(instance.ctx, "alice")
    token = await make_token(instance.ctx, "alice")
    async with instance.client() as anonymous, instance.client(headers=bearer(token)) as client:
        assert await call(anonymous, "GET", "/api/v1/instance/translation_languages") == {}
        assert await call(client, "GET", f"/api/v1/accounts/{account.id}/identity_proofs") == []
        assert (await anonymous.get(f"/api/v1/accounts/{account.id}/identity_proofs")).status_code == 401
        missing = await client.get("/api/v1/accounts/424242/identity_proofs")
        assert missing.status_code == 404 and "error" in missing.json()
