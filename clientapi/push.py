"""Web Push subscriptions: `/api/v1/push/subscription` (POST, GET, PUT, DELETE), one per access token.

The keys an app sends are checked (a P-256 point and a 16-byte secret) so a push can always be encrypted;
the endpoint must be an https URL (http only to the loopback addresses tests and local push services use
when `federation.allow_private_addresses` allows them — every push goes through the SSRF-guarded client).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import AuthContext, bearer_token, require_auth
from clientapi.errors import NotFound, Unprocessable, ValidationCode
from clientapi.params import Params, read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.models import PushSubscription
from storage.push import (
    ALERT_TYPES,
    POLICIES,
    delete_subscription,
    replace_subscription,
    subscription_of_token,
)
from storage.push_keys import b64url_decode, seal_token, vapid_public_key


def subscription_to_entity(subscription: PushSubscription, server_key: str) -> dict[str, Any]:
    return {
        "id": str(subscription.id),
        "endpoint": subscription.endpoint,
        "standard": subscription.standard,
        "alerts": {alert: bool(subscription.alerts.get(alert)) for alert in ALERT_TYPES},
        "policy": subscription.policy,
        "server_key": server_key,
    }


def _server_key(ctx: Context) -> str:
    if not ctx.settings.secrets.vapid_private_key:
        raise Unprocessable("Web Push is not set up on this server (secrets.vapid_private_key)")
    return vapid_public_key(ctx.settings.secrets.vapid_private_key)


def _alerts_and_policy(data: Params, current: PushSubscription | None) -> tuple[dict[str, bool], str]:
    alerts = dict(current.alerts) if current else {}
    given = data.nested("alerts")
    for alert in ALERT_TYPES:
        value = given.get_bool(alert)
        if value is not None:
            alerts[alert] = value
    policy = data.get_str("policy") or (current.policy if current else "all")
    if policy not in POLICIES:
        raise Unprocessable(
            f"Validation failed: policy must be one of {', '.join(POLICIES)}",
            field="data[policy]",
            code=ValidationCode.INCLUSION,
        )
    return alerts, policy


def _endpoint(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or len(value) > 2048:
        raise Unprocessable(
            "Validation failed: subscription[endpoint] must be an https URL", field="subscription[endpoint]"
        )
    return value


def _keys(keys: Params) -> tuple[str, str]:
    p256dh, auth = keys.require_str("p256dh"), keys.require_str("auth")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(p256dh))
        secret = b64url_decode(auth)
    except ValueError as error:
        raise Unprocessable(
            "Validation failed: subscription[keys][p256dh] is not a P-256 public key",
            field="subscription[keys][p256dh]",
        ) from error
    if len(secret) != 16:
        raise Unprocessable(
            "Validation failed: subscription[keys][auth] must be 16 bytes", field="subscription[keys][auth]"
        )
    return p256dh, auth


async def _caller(request: Request) -> tuple[Context, AuthContext]:
    return request.state.ctx, await require_auth(request, "push")


async def create_subscription(request: Request) -> Response:
    ctx, auth = await _caller(request)
    assert auth.account is not None
    server_key = _server_key(ctx)
    params = await read_params(request)
    given = params.nested("subscription")
    p256dh, secret = _keys(given.nested("keys"))
    alerts, policy = _alerts_and_policy(params.nested("data"), None)
    access_token = bearer_token(request)
    assert access_token is not None
    subscription = PushSubscription(
        token_id=auth.token.id,
        account_id=auth.account.id,
        endpoint=_endpoint(given.require_str("endpoint")),
        key_p256dh=p256dh,
        key_auth=secret,
        standard=bool(given.get_bool("standard", False)),
        alerts=alerts,
        policy=policy,
        sealed_token=seal_token(ctx.settings.secrets.secret_key, access_token),
    )
    async with ctx.db.transaction() as session:
        await replace_subscription(session, subscription)
    return api_response(subscription_to_entity(subscription, server_key))


async def show_subscription(request: Request) -> Response:
    ctx, auth = await _caller(request)
    async with ctx.db.read() as session:
        subscription = await subscription_of_token(session, auth.token.id)
    if subscription is None:
        raise NotFound()
    return api_response(subscription_to_entity(subscription, _server_key(ctx)))


async def update_subscription(request: Request) -> Response:
    """Only the alerts and the policy change; the endpoint and keys need a new subscription."""
    ctx, auth = await _caller(request)
    params = await read_params(request)
    async with ctx.db.transaction() as session:
        subscription = await subscription_of_token(session, auth.token.id)
        if subscription is None:
            raise NotFound()
        subscription.alerts, subscription.policy = _alerts_and_policy(params.nested("data"), subscription)
    return api_response(subscription_to_entity(subscription, _server_key(ctx)))


async def remove_subscription(request: Request) -> Response:
    ctx, auth = await _caller(request)
    async with ctx.db.transaction() as session:
        subscription = await subscription_of_token(session, auth.token.id)
        if subscription is not None:
            await delete_subscription(session, subscription.id)
    return api_response({})


routes = [
    Route("/api/v1/push/subscription", create_subscription, methods=["POST"]),
    Route("/api/v1/push/subscription", show_subscription, methods=["GET"]),
    Route("/api/v1/push/subscription", update_subscription, methods=["PUT"]),
    Route("/api/v1/push/subscription", remove_subscription, methods=["DELETE"]),
]
