"""The `push` queue's handler: one notification to one Web Push subscription.

What Mastodon sends (its `Web::NotificationSerializer`): the access token the subscription was made with (apps
find the account by it), the notification's id and type, a title, a plain-text body of at most 140
characters and the sender's avatar. Encrypted for the app's key as it asked — RFC 8291 `aes128gcm` when the
subscription is `standard`, else the draft `aesgcm` most apps still use — and authorised with the server's
VAPID key (RFC 8292, or its first draft with `aesgcm`), sent through the SSRF-guarded federation client.

A push service answering 404 or 410 has forgotten the subscription: it is deleted. 429 and 5xx are retried
with the delivery backoff for a few tries (a push is worth little late); other answers drop the push.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any
from urllib.parse import urlsplit

import http_ece
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid01, Vapid02
from sqlalchemy import exists, select

from apub.errors import FetchError
from apub.html import html_to_text
from outbox.deliver import backoff
from storage.context import Context
from storage.filter_matching import hides_notification
from storage.instance_profile import read_instance_profile
from storage.media import profile_image_urls
from storage.models import Account, Follow, Notification, PushSubscription, Status
from storage.oauth import token_is_live
from storage.push import delete_subscription
from storage.push_keys import b64url, b64url_decode, unseal_token
from storage.queue import ClaimedJob, RetryJob
from storage.types import utcnow
from storage.worker import JobHandler

log = logging.getLogger(__name__)

MAX_TRIES = 5
TTL_SECONDS = 48 * 3600  # how long the push service keeps an undelivered message (Mastodon: 2 days)
BODY_LENGTH = 140
TITLES = {
    "mention": "You were mentioned by {name}",
    "status": "{name} just posted",
    "reblog": "{name} boosted your post",
    "follow": "{name} is now following you",
    "follow_request": "{name} has requested to follow you",
    "favourite": "{name} favourited your post",
    "poll": "A poll you voted in or created has ended",
    "update": "{name} edited a post",
}


def push_payload(
    notification: Notification, sender: Account, status: Status | None, access_token: str, icon: str
) -> dict[str, Any]:
    name = sender.display_name or sender.username
    if status is not None:
        text = status.spoiler_text or html_to_text(status.content or "")
    else:
        text = html_to_text(sender.note or "")
    if len(text) > BODY_LENGTH:
        text = text[: BODY_LENGTH - 1] + "…"
    return {
        "access_token": access_token,
        "preferred_locale": "en",
        "notification_id": str(notification.id),
        "notification_type": notification.notification_type,
        "icon": icon,
        "title": TITLES.get(notification.notification_type, "{name}").format(name=name),
        "body": text,
    }


def encrypt_push(subscription: PushSubscription, plaintext: bytes) -> tuple[bytes, dict[str, str]]:
    """The body and encryption headers for the subscription's scheme, with a fresh ephemeral key."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    receiver_key = b64url_decode(subscription.key_p256dh)
    secret = b64url_decode(subscription.key_auth)
    if subscription.standard:
        body = http_ece.encrypt(
            plaintext, private_key=ephemeral, dh=receiver_key, auth_secret=secret, version="aes128gcm"
        )
        return body, {"Content-Encoding": "aes128gcm"}
    salt = os.urandom(16)
    body = http_ece.encrypt(
        plaintext, salt=salt, private_key=ephemeral, dh=receiver_key, auth_secret=secret, version="aesgcm"
    )
    sender_key = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return body, {
        "Content-Encoding": "aesgcm",
        "Encryption": f"salt={b64url(salt)}",
        "Crypto-Key": f"dh={b64url(sender_key)}",
    }


def vapid_headers(private_key: str, endpoint: str, subject: str, *, standard: bool) -> dict[str, str]:
    """`Authorization` (and, in the draft, the `p256ecdsa` part of `Crypto-Key`) for `endpoint`'s origin."""
    parts = urlsplit(endpoint)
    claims = {"aud": f"{parts.scheme}://{parts.netloc}", "exp": int(time.time()) + 12 * 3600, "sub": subject}
    vapid = (Vapid02 if standard else Vapid01).from_raw(private_key.encode())
    return {
        key: value.decode() if isinstance(value, bytes) else value
        for key, value in vapid.sign(claims).items()
    }


async def _policy_allows(ctx: Context, subscription: PushSubscription, sender_id: int) -> bool:
    if subscription.policy == "all":
        return True
    if subscription.policy == "none":
        return False
    recipient = subscription.account_id
    follower, followed = (
        (sender_id, recipient) if subscription.policy == "follower" else (recipient, sender_id)
    )
    async with ctx.db.read() as session:
        return bool(
            await session.scalar(
                select(exists().where(Follow.account_id == follower, Follow.target_account_id == followed))
            )
        )


def web_push_handler(ctx: Context, *, avatar_placeholder: str) -> JobHandler:
    settings = ctx.settings

    async def handle(job: ClaimedJob) -> int | None:
        async with ctx.db.read() as session:
            subscription = await session.get(PushSubscription, job.payload["subscription_id"])
            notification = await session.get(Notification, job.payload["notification_id"])
            if subscription is None or notification is None:
                return None  # unsubscribed, or the notification was dismissed: nothing to say
            token_live = await token_is_live(session, subscription.token_id)
            sender = await session.get(Account, notification.from_account_id)
            status = await session.get(Status, notification.status_id) if notification.status_id else None
            # What the recipient's `hide` filters keep out of its notifications is not pushed either.
            if status is not None and await hides_notification(session, subscription.account_id, status):
                return None
        if not token_live:  # signed out, revoked, or its user lost access: the subscription ends with it
            async with ctx.db.transaction() as session:
                await delete_subscription(session, subscription.id)
            return None
        if sender is None or not await _policy_allows(ctx, subscription, sender.id):
            return None
        access_token = unseal_token(settings.secrets.secret_key, subscription.sealed_token)
        avatar = profile_image_urls(ctx.base_url, sender.avatar_file, sender.avatar_url)[0]
        payload = push_payload(notification, sender, status, access_token, avatar or avatar_placeholder)
        body, headers = encrypt_push(subscription, orjson.dumps(payload))
        contact = (await read_instance_profile(ctx)).contact_email
        subject = f"mailto:{contact}" if contact else ctx.base_url
        vapid = vapid_headers(
            settings.secrets.vapid_private_key, subscription.endpoint, subject, standard=subscription.standard
        )
        if "Crypto-Key" in vapid:  # the draft puts the VAPID key beside the sender's key
            vapid["Crypto-Key"] = f"{headers['Crypto-Key']};{vapid['Crypto-Key']}"
        headers |= vapid | {"TTL": str(TTL_SECONDS), "Urgency": "normal"}
        assert ctx.http is not None
        try:
            response = await ctx.http.post(
                subscription.endpoint, body, content_type="application/octet-stream", headers=headers
            )
        except FetchError as error:
            return _retry_or_drop(job, None, str(error))
        if response.status_code in (404, 410):
            async with ctx.db.transaction() as session:
                await delete_subscription(session, subscription.id)
            log.info("push subscription %s gone (%s): deleted", subscription.id, response.status_code)
        elif response.status_code == 429 or response.status_code >= 500:
            return _retry_or_drop(job, response.status_code, f"push service answered {response.status_code}")
        elif not response.is_success:
            log.warning("push to subscription %s refused: %s", subscription.id, response.status_code)
        return response.status_code

    return handle


def _retry_or_drop(job: ClaimedJob, status: int | None, error: str) -> int | None:
    if job.tries < MAX_TRIES:
        raise RetryJob(utcnow() + backoff(job.tries), status=status, error=error)
    log.warning("push job %s given up after %s tries: %s", job.id, job.tries, error)
    return status
