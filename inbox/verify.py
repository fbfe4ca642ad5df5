"""Who sent a request: HTTP signature verification for the inbox, and the "authorized fetch" check for
our ActivityPub GET endpoints.

Fedify and Mastodon also embed Linked Data signatures or `proof`s in activities; they are ignored: only the
HTTP signature decides who signed.
"""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request

from apub.errors import SignatureMissing
from apub.httpsig import Signer, verify_request
from apub.httpsig.cavage import key_id_of
from apub.httpsig.headers import header_table
from apub.httpsig.rfc9421 import parse_signatures
from inbox.policy import check_key_host, refuse_unfederated
from storage.context import Context


def signature_key_ids(request: Request) -> list[str]:
    """The keyIds a request's signatures name, read without verifying anything (for the policy check), from
    the same header table and with the same decoding as `verify_request`, so both see the same keyId."""
    table = header_table(request.headers)
    signature_input = table.get(b"signature-input")
    if signature_input is not None:
        headers = request.headers
        signatures = parse_signatures(headers["signature-input"], headers.get("signature", ""))
        return [signature.key_id for signature in signatures if signature.key_id is not None]
    value = table.get(b"signature")
    if value is None:
        value = table.get(b"authorization")
        if value is None or value[:10].lower() != b"signature ":
            raise SignatureMissing("request carries no HTTP signature")
    return [key_id_of(value.decode(errors="replace"))]


def public_url(request: Request, ctx: Context) -> str:
    """The URL the sender signed: our public base URL (not what a reverse proxy forwarded) plus the path."""
    # Read from the ASGI scope as `request.url` would (building it parses and re-assembles the whole URL).
    scope = request.scope
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = scope.get("query_string", b"").decode()
    return f"{ctx.base_url}{path}" + (f"?{query}" if query else "")


async def verify_signature(request: Request, ctx: Context, body: bytes) -> Signer:
    """Verify the request's HTTP signature with the storage-bound key lookup; raises SignatureError."""
    window = timedelta(seconds=ctx.settings.federation.signature_window_seconds)
    return await verify_request(
        request.method, public_url(request, ctx), request.headers, body, ctx.key_lookup, window=window
    )


async def signed_fetcher(request: Request, ctx: Context) -> Signer | None:
    """For ActivityPub GET endpoints: when `federation.authorized_fetch` is on, require a valid signature
    from a host we federate with (raising SignatureError / DomainRefused); otherwise return None."""
    if not ctx.settings.federation.authorized_fetch:
        return None
    for key_id in signature_key_ids(request):
        await check_key_host(ctx, key_id)
    signer = await verify_signature(request, ctx, b"")
    await refuse_unfederated(ctx, signer.owner)
    return signer
