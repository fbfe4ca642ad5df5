"""OAuth2 through the real endpoints: app registration, the login + consent page, codes, PKCE, grants,
revocation, login rate limiting, and password changes revoking tokens."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from plein.admin import account_command
from storage.models import OAuthApp, OAuthToken
from support.databases import sqlite_url
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import (
    OOB,
    authorization_code,
    authorize,
    bearer,
    form_fields,
    make_user,
    pkce_pair,
    register_app,
)
from support.openapi import validate_entity, validate_response

PASSWORD = "correct horse battery staple"


async def test_apps_register_from_form_json_and_query(instance: RunningInstance) -> None:
    async with instance.client() as client:
        from_form = await client.post(
            "/api/v1/apps",
            data={
                "client_name": "Form",
                "redirect_uris": OOB,
                "scopes": "read write",
                "website": "https://a.example",
            },
        )
        from_json = await client.post(
            "/api/v1/apps",
            json={
                "client_name": "Json",
                "redirect_uris": ["https://app.example/cb", "app://cb"],
                "scopes": "read",
            },
        )
        from_query = await client.post("/api/v1/apps", params={"client_name": "Query", "redirect_uris": OOB})
    for response in (from_form, from_json, from_query):
        assert response.status_code == 200, response.text
        validate_response("/api/v1/apps", "POST", 200, response.json())
        validate_entity("CredentialApplication", response.json(), all_properties=True)
    assert from_form.json()["scopes"] == ["read", "write"]
    assert from_form.json()["website"] == "https://a.example"
    assert from_json.json()["redirect_uris"] == ["https://app.example/cb", "app://cb"]
    assert from_json.json()["redirect_uri"] == "https://app.example/cb\napp://cb"
    assert from_query.json()["scopes"] == ["read"]  # the default scope


async def test_apps_refuse_bad_registrations(instance: RunningInstance) -> None:
    async with instance.client() as client:
        no_name = await client.post("/api/v1/apps", data={"redirect_uris": OOB})
        bad_scope = await client.post(
            "/api/v1/apps", data={"client_name": "x", "redirect_uris": OOB, "scopes": "root"}
        )
        bad_redirect = await client.post(
            "/api/v1/apps", data={"client_name": "x", "redirect_uris": "/relative"}
        )
    for response in (no_name, bad_scope, bad_redirect):
        assert response.status_code == 422
        assert isinstance(response.json()["error"], str)


async def test_client_secret_and_tokens_are_stored_hashed(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice", PASSWORD)
    async with instance.client() as client:
        access_token = await authorize(client, username="alice", password=PASSWORD)
    async with instance.ctx.db.read() as session:
        tokens = list((await session.execute(select(OAuthToken.token_hash))).scalars())
        secrets = list((await session.execute(select(OAuthApp.client_secret_hash))).scalars())
    assert access_token not in tokens
    assert len(tokens) == 1 and len(tokens[0]) == 64
    assert all(len(secret) == 64 for secret in secrets)


async def test_authorization_code_flow_out_of_band_with_pkce(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice", PASSWORD)
    async with instance.client() as client:
        app = await register_app(client, scopes="read write")
        verifier, challenge = pkce_pair()
        code = await authorization_code(
            client, app, username="alice", password=PASSWORD, code_challenge=challenge
        )
        token_request = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "redirect_uri": OOB,
        }
        wrong_verifier = await client.post("/oauth/token", data={**token_request, "code_verifier": "x" * 50})
        assert wrong_verifier.status_code == 400
        assert wrong_verifier.json()["error"] == "invalid_grant"
        granted = await client.post("/oauth/token", json={**token_request, "code_verifier": verifier})
        assert granted.status_code == 200, granted.text
        validate_response("/oauth/token", "POST", 200, granted.json())
        body = granted.json()
        assert body["token_type"] == "Bearer"
        assert body["scope"] == "read write"
        assert isinstance(body["created_at"], int)
        verified = await client.get("/api/v1/apps/verify_credentials", headers=bearer(body["access_token"]))
        replayed = await client.post("/oauth/token", data={**token_request, "code_verifier": verifier})
        assert replayed.json()["error"] == "invalid_grant"  # a code is good once
        after_replay = await client.get(
            "/api/v1/apps/verify_credentials", headers=bearer(body["access_token"])
        )
    assert after_replay.status_code == 401  # and its reuse revokes what it issued (RFC 6749 §4.1.2)
    assert verified.status_code == 200
    validate_response("/api/v1/apps/verify_credentials", "GET", 200, verified.json())
    assert verified.json()["name"] == "Test app"
    assert "client_secret" not in verified.json()


async def test_public_client_with_pkce_needs_no_secret(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice", PASSWORD)
    async with instance.client() as client:
        app = await register_app(client)
        verifier, challenge = pkce_pair()
        code = await authorization_code(
            client, app, username="alice", password=PASSWORD, code_challenge=challenge
        )
        granted = await client.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": app.client_id,
                "redirect_uri": OOB,
                "code_verifier": verifier,
            },
        )
        assert granted.status_code == 200, granted.text
        # Without PKCE, a code needs the client secret.
        code = await authorization_code(client, app, username="alice", password=PASSWORD)
        no_secret = await client.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": app.client_id,
                "redirect_uri": OOB,
            },
        )
    assert no_secret.status_code == 401
    assert no_secret.json()["error"] == "invalid_client"


async def test_redirect_uri_gets_code_and_state_and_must_match_exactly(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice", PASSWORD)
    async with instance.client() as client:
        app = await register_app(client, redirect_uri="https://app.example/callback?x=1")
        code = await authorization_code(client, app, username="alice", password=PASSWORD, state="s-123")
        granted = await client.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "redirect_uri": app.redirect_uri,
            },
        )
        assert granted.status_code == 200
        page = await client.get(
            "/oauth/authorize/",  # the trailing-slash form works as well
            params={
                "client_id": app.client_id,
                "redirect_uri": "https://app.example/callback",
                "response_type": "code",
            },
        )
        assert page.status_code == 400
        assert "redirect_uri" in page.text
        denied_page = await client.get(
            "/oauth/authorize/",
            params={
                "client_id": app.client_id,
                "redirect_uri": app.redirect_uri,
                "scope": "read",
                "state": "z",
            },
        )
        denied = await client.post(
            "/oauth/authorize/",
            data={**form_fields(denied_page.text), "decision": "deny"},
            follow_redirects=False,
        )
    assert denied.status_code == 302
    query = parse_qs(urlsplit(denied.headers["location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["z"] and query["x"] == ["1"]


async def test_redirect_carries_state(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice", PASSWORD)
    async with instance.client() as client:
        app = await register_app(client, redirect_uri="https://app.example/cb")
        page = await client.get(
            "/oauth/authorize",
            params={
                "client_id": app.client_id,
                "redirect_uri": app.redirect_uri,
                "scope": "read",
                "state": "abc",
            },
        )
        answer = await client.post(
            "/oauth/authorize",
            data={**form_fields(page.text), "username": "alice", "password": PASSWORD, "decision": "approve"},
            follow_redirects=False,
        )
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "app.example", "/cb")
    query = parse_qs(location.query)
    assert query["state"] == ["abc"] and len(query["code"][0]) > 30
    assert answer.headers["x-frame-options"] == "DENY"


async def test_consent_form_needs_the_csrf_token_of_its_cookie(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice", PASSWORD)
    async with instance.client() as client:
        app = await register_app(client)
        page = await client.get("/oauth/authorize", params={"client_id": app.client_id, "redirect_uri": OOB})
        fields = form_fields(page.text)
        login = {"username": "alice", "password": PASSWORD, "decision": "approve"}
        forged = await client.post("/oauth/authorize", data={**fields, **login, "csrf_token": "forged"})
        assert forged.status_code == 403
    # Another browser (no cookie) replaying a valid token is refused too.
    async with instance.client() as other_browser:
        replayed = await other_browser.post("/oauth/authorize", data={**fields, **login})
    assert replayed.status_code == 403
    assert "code" not in replayed.text.lower() or 'id="oauth-code"' not in replayed.text


async def test_wrong_password_shows_the_form_again_then_login_is_rate_limited(
    instance: RunningInstance,
) -> None:
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice", PASSWORD)
    # The page speaks the browser's language (the instance default is Dutch).
    async with instance.client(headers={"Accept-Language": "en-GB,en;q=0.8"}) as client:
        app = await register_app(client)
        page = await client.get("/oauth/authorize", params={"client_id": app.client_id, "redirect_uri": OOB})
        fields = form_fields(page.text)
        statuses = []
        for _ in range(5):
            wrong = await client.post(
                "/oauth/authorize",
                data={**fields, "username": "alice", "password": "nope", "decision": "approve"},
            )
            statuses.append(wrong.status_code)
            assert "Invalid login or password" in wrong.text
        # Even the right password is refused while the limit holds.
        limited = await client.post(
            "/oauth/authorize",
            data={**fields, "username": "alice", "password": PASSWORD, "decision": "approve"},
        )
    assert statuses == [422] * 5
    assert limited.status_code == 429
    assert 'id="oauth-code"' not in limited.text


async def test_login_session_lets_the_next_app_ask_for_consent_only(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice", PASSWORD)
    async with instance.client() as client:
        await authorize(client, username="alice", password=PASSWORD)
        app = await register_app(client, name="Second app")
        page = await client.get("/oauth/authorize", params={"client_id": app.client_id, "redirect_uri": OOB})
        assert "<strong>@alice</strong>" in page.text  # "logged in as", in the page's language
        assert 'name="password"' not in page.text
        approved = await client.post(
            "/oauth/authorize", data={**form_fields(page.text), "decision": "approve"}
        )
        assert approved.status_code == 200
        assert re.search(r'id="oauth-code"[^>]*>[^<]{20,}<', approved.text)
        forced = await client.get(
            "/oauth/authorize",
            params={"client_id": app.client_id, "redirect_uri": OOB, "force_login": "true"},
        )
    assert 'name="password"' in forced.text


async def test_client_credentials_token_has_no_user(instance: RunningInstance) -> None:
    async with instance.client() as client:
        app = await register_app(client, scopes="read write")
        granted = await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "scope": "read",
            },
        )
        assert granted.status_code == 200
        access_token = granted.json()["access_token"]
        app_check = await client.get("/api/v1/apps/verify_credentials", headers=bearer(access_token))
        too_wide = await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "scope": "admin:read",
            },
        )
        bad_secret = await client.post(
            "/oauth/token",
            auth=httpx.BasicAuth(app.client_id, "wrong"),
            data={"grant_type": "client_credentials"},
        )
        basic = await client.post(
            "/oauth/token",
            auth=httpx.BasicAuth(app.client_id, app.client_secret),
            data={"grant_type": "client_credentials"},
        )
    assert app_check.status_code == 200
    assert too_wide.json()["error"] == "invalid_scope"
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    assert basic.status_code == 200 and basic.json()["scope"] == "read"


async def test_password_grant_is_off_by_default(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice", PASSWORD)
    async with instance.client() as client:
        app = await register_app(client)
        refused = await client.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "username": "alice",
                "password": PASSWORD,
            },
        )
        metadata = await client.get("/.well-known/oauth-authorization-server")
    assert refused.status_code == 400
    assert refused.json()["error"] == "unsupported_grant_type"
    assert "password" not in metadata.json()["grant_types_supported"]


async def test_password_grant_when_enabled(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, database_url=sqlite_url(str(tmp_path)), **{"oauth.password_grant": True}
    )
    async with serve_in_process(settings) as running, running.client() as client:
        assert running.ctx is not None
        await make_user(running.ctx, "alice", PASSWORD)
        app = await register_app(client)
        request = {
            "grant_type": "password",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "username": "alice@example.test",
            "password": PASSWORD,
            "scope": "read",
        }
        granted = await client.post("/oauth/token", data=request)
        wrong = await client.post("/oauth/token", data={**request, "password": "wrong"})
    assert granted.status_code == 200 and granted.json()["scope"] == "read"
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


async def test_revoked_token_stops_working(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice", PASSWORD)
    async with instance.client() as client:
        app = await register_app(client)
        code = await authorization_code(client, app, username="alice", password=PASSWORD)
        access_token = (
            await client.post(
                "/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "client_id": app.client_id,
                    "client_secret": app.client_secret,
                    "redirect_uri": OOB,
                },
            )
        ).json()["access_token"]
        assert (
            await client.get("/api/v1/apps/verify_credentials", headers=bearer(access_token))
        ).status_code == 200
        wrong_client = await client.post(
            "/oauth/revoke", data={"client_id": app.client_id, "client_secret": "nope", "token": access_token}
        )
        assert wrong_client.status_code == 403
        revoked = await client.post(
            "/oauth/revoke",
            data={"client_id": app.client_id, "client_secret": app.client_secret, "token": access_token},
        )
        assert revoked.status_code == 200 and revoked.json() == {}
        after = await client.get("/api/v1/apps/verify_credentials", headers=bearer(access_token))
    assert after.status_code == 401
    assert after.json() == {"error": "The access token is invalid"}


async def test_password_change_revokes_tokens_and_sessions(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice", PASSWORD)
    async with instance.client() as client:
        access_token = await authorize(client, username="alice", password=PASSWORD)
        await account_command(
            instance.ctx,
            argparse.Namespace(action="password", username="alice", password="a new password", dry_run=False),
        )
        after = await client.get("/api/v1/apps/verify_credentials", headers=bearer(access_token))
        app = await register_app(client)
        page = await client.get("/oauth/authorize", params={"client_id": app.client_id, "redirect_uri": OOB})
    assert after.status_code == 401
    assert 'name="password"' in page.text  # the login session ended too


async def test_unknown_token_and_missing_token(instance: RunningInstance) -> None:
    async with instance.client() as client:
        unknown = await client.get("/api/v1/apps/verify_credentials", headers=bearer("not-a-token"))
        missing = await client.get("/api/v1/apps/verify_credentials")
    assert unknown.status_code == 401 and missing.status_code == 401
    assert unknown.headers["content-type"].startswith("application/json")


async def test_server_metadata(instance: RunningInstance) -> None:
    async with instance.client() as client:
        response = await client.get("/.well-known/oauth-authorization-server")
    body = response.json()
    assert body["authorization_endpoint"] == f"{instance.base_url}/oauth/authorize"
    assert body["token_endpoint"] == f"{instance.base_url}/oauth/token"
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert {"read", "write", "follow", "push", "read:statuses"} <= set(body["scopes_supported"])
