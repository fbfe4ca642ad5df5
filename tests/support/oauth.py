"""Access tokens for API tests.

- `authorize(...)`: the real authorization-code flow against a running instance: register an app, open the
  login + consent page, post it back with the CSRF token, take the code, exchange it at /oauth/token.
- `app_token(client)`: a client-credentials token of a new app (as an app signing someone up holds).
- `make_token(ctx, username, scopes)`: a token inserted straight into the database (creating the local
  account when missing), for tests that are not about OAuth.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx

from storage.accounts import create_local_account, local_account_by_username, user_for_account
from storage.context import Context
from storage.models import Account
from storage.oauth import create_app, create_token
from storage.passwords import hash_password, make_hasher
from storage.urls import LocalUrls

OOB = "urn:ietf:wg:oauth:2.0:oob"
DEFAULT_SCOPES = "read write follow push"
_HIDDEN_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r'(\w[\w-]*)="([^"]*)"')


@dataclass(frozen=True)
class RegisteredApp:
    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: str


def form_fields(page_html: str) -> dict[str, str]:
    """The hidden inputs (name → value) of the first form of a page."""
    fields: dict[str, str] = {}
    for tag in _HIDDEN_INPUT.findall(page_html):
        attributes = {name.lower(): html.unescape(value) for name, value in _ATTRIBUTE.findall(tag)}
        if attributes.get("type", "").lower() == "hidden" and "name" in attributes:
            fields[attributes["name"]] = attributes.get("value", "")
    return fields


def pkce_pair() -> tuple[str, str]:
    """A PKCE (code_verifier, S256 code_challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def register_app(
    client: httpx.AsyncClient,
    *,
    redirect_uri: str = OOB,
    scopes: str = DEFAULT_SCOPES,
    name: str = "Test app",
) -> RegisteredApp:
    response = await client.post(
        "/api/v1/apps", data={"client_name": name, "redirect_uris": redirect_uri, "scopes": scopes}
    )
    response.raise_for_status()
    body = response.json()
    return RegisteredApp(body["client_id"], body["client_secret"], redirect_uri, scopes)


async def app_token(client: httpx.AsyncClient) -> str:
    """A client-credentials token of a new app, as an app signing someone up holds."""
    app = await register_app(client, scopes="read write", name="Sign-up test")
    token = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "scope": "read write",
        },
    )
    return str(token.json()["access_token"])


async def authorization_code(
    client: httpx.AsyncClient,
    app: RegisteredApp,
    *,
    username: str,
    password: str,
    scopes: str | None = None,
    state: str | None = None,
    code_challenge: str | None = None,
    act_as: str | None = None,
) -> str:
    """Log in and approve on the consent page; returns the code (from the redirect or the oob page). With
    `act_as` (an account id), the login belongs to organisations: the page that follows the login asks which
    account the app acts for, and this one is chosen."""
    query = {
        "client_id": app.client_id,
        "redirect_uri": app.redirect_uri,
        "response_type": "code",
        "scope": scopes or app.scopes,
    }
    if state is not None:
        query["state"] = state
    if code_challenge is not None:
        query["code_challenge"] = code_challenge
        query["code_challenge_method"] = "S256"
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 200, page.text
    fields = form_fields(page.text)
    assert "csrf_token" in fields, "the consent page has no CSRF token"
    answer = await client.post(
        "/oauth/authorize",
        data={**fields, "username": username, "password": password, "decision": "approve"},
        follow_redirects=False,
    )
    if act_as is not None:
        assert answer.status_code == 200 and 'name="act_as"' in answer.text, answer.text
        answer = await client.post(
            "/oauth/authorize",
            data={**form_fields(answer.text), "act_as": act_as, "decision": "approve"},
            follow_redirects=False,
        )
    if app.redirect_uri == OOB:
        assert answer.status_code == 200, answer.text
        match = re.search(r'id="oauth-code"[^>]*>([^<]+)<', answer.text)
        assert match, "the out-of-band page shows no code"
        return html.unescape(match.group(1)).strip()
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["location"])
    return parse_qs(location.query)["code"][0]


async def authorize(
    client: httpx.AsyncClient,
    *,
    username: str,
    password: str,
    scopes: str = DEFAULT_SCOPES,
    act_as: str | None = None,
) -> str:
    """The whole authorization-code flow (with PKCE) through the real endpoints; returns an access token
    (acting for account `act_as` when given: see `authorization_code`)."""
    app = await register_app(client, scopes=scopes)
    verifier, challenge = pkce_pair()
    code = await authorization_code(
        client,
        app,
        username=username,
        password=password,
        scopes=scopes,
        code_challenge=challenge,
        act_as=act_as,
    )
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "redirect_uri": app.redirect_uri,
            "code_verifier": verifier,
        },
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


async def make_user(ctx: Context, username: str, password: str = "correct horse battery staple") -> Account:
    """A local account with a login (created when missing)."""
    async with ctx.db.transaction() as session:
        account = await local_account_by_username(session, username)
        if account is None:
            account = await create_local_account(
                session,
                LocalUrls(ctx.base_url),
                username=username,
                password_hash=hash_password(make_hasher(), password),
                email=f"{username}@example.test",
            )
        return account


async def make_token(ctx: Context, username: str, scopes: str = DEFAULT_SCOPES) -> str:
    """An access token for local user `username` (created when missing), inserted directly."""
    account = await make_user(ctx, username)
    async with ctx.db.transaction() as session:
        user = await user_for_account(session, account.id)
        app, _ = await create_app(
            session, name="Test tokens", redirect_uris=[OOB], scopes=scopes, website=None
        )
        _, access_token = await create_token(session, app=app, user=user, scopes=scopes)
    return access_token


def bearer(access_token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {access_token}"}
