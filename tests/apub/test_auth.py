"""The double-knock of ``SignatureAuth`` on the httpx path: what is sent first, when it knocks again in the same
request, what an answer teaches the scheme memory (apub.httpsig.knock, docs/SIGNATURES.md)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from apub.errors import SignatureError
from apub.httpsig import rfc9421
from apub.httpsig.auth import SchemeMemory, SignatureAuth
from apub.httpsig.knock import CAVAGE, RFC9421, Knock, challenged_knock
from apub.httpsig.verify import PublicKeyRecord, verify_request
from apub.keys import generate_ed25519_private_key_pem, generate_rsa_private_key_pem, load_private_key

KEY_ID = "https://local.example/users/alice#main-key"
ED_KEY_ID = "https://local.example/users/alice#ed25519-key"
OWNER = "https://local.example/users/alice"
RSA_KEY = load_private_key(generate_rsa_private_key_pem())
ED_KEY = load_private_key(generate_ed25519_private_key_pem())
HOST = "remote.example"
# status_for(scheme, method) -> a status to answer without verifying, or None to verify for real
Behaviour = Callable[[str, str], int | None]


def remote_app(
    behaviour: Behaviour, extra_headers: dict[str, str] | None = None
) -> tuple[Starlette, list[str]]:
    """A remote that answers as ``behaviour`` says and otherwise verifies signatures for real (401 when they
    do not verify). Returns the app and the log of what each request carried: scheme and key id."""
    seen: list[str] = []
    records = {
        KEY_ID: PublicKeyRecord(KEY_ID, OWNER, RSA_KEY.public_key()),  # type: ignore[arg-type]
        ED_KEY_ID: PublicKeyRecord(ED_KEY_ID, OWNER, ED_KEY.public_key()),  # type: ignore[arg-type]
    }

    async def lookup(key_id: str, *, refresh: bool = False) -> PublicKeyRecord:
        return records[key_id]

    async def endpoint(request: Request) -> Response:
        scheme = "rfc9421" if "signature-input" in request.headers else "cavage"
        seen.append(scheme)
        status = behaviour(scheme, request.method)
        if status is not None:
            return JSONResponse({"error": "no"}, status_code=status, headers=extra_headers)
        try:
            signer = await verify_request(
                request.method, str(request.url), request.headers, await request.body(), lookup
            )
        except SignatureError as error:
            return JSONResponse({"error": str(error)}, status_code=401, headers=extra_headers)
        seen[-1] = f"{scheme} {signer.key_id}"
        return JSONResponse({"key_id": signer.key_id}, status_code=202 if request.method == "POST" else 200)

    return Starlette(routes=[Route("/inbox", endpoint, methods=["GET", "POST"])]), seen


def only(accepted: str, refusal: int = 401) -> Behaviour:
    return lambda scheme, method: None if scheme == accepted else refusal


def signer(memory: SchemeMemory) -> SignatureAuth:
    return SignatureAuth(
        KEY_ID,
        RSA_KEY,  # type: ignore[arg-type]
        scheme_memory=memory,
        ed25519_key_id=ED_KEY_ID,
        ed25519_private_key=ED_KEY,  # type: ignore[arg-type]
    )


def client_for(app: Starlette, auth: SignatureAuth) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"https://{HOST}", auth=auth)


async def test_first_knock_is_cavage_and_an_accepted_post_proves_it() -> None:
    app, seen = remote_app(only("cavage"))
    memory = SchemeMemory()
    async with client_for(app, signer(memory)) as client:
        assert (await client.post("/inbox", content=b'{"type": "Follow"}')).status_code == 202
        assert (await client.post("/inbox", content=b'{"type": "Like"}')).status_code == 202
    assert seen == [f"cavage {KEY_ID}"] * 2
    assert memory.get(HOST) == CAVAGE


async def test_rfc9421_only_host_gets_rsa_rfc9421_in_the_same_request_then_first() -> None:
    app, seen = remote_app(only("rfc9421"))
    memory = SchemeMemory()
    async with client_for(app, signer(memory)) as client:
        response = await client.post("/inbox", content=b'{"type": "Follow"}')
        assert response.status_code == 202 and response.json()["key_id"] == KEY_ID  # the publicKey key
        assert seen == ["cavage", f"rfc9421 {KEY_ID}"]
        assert memory.get(HOST) == RFC9421
        assert (await client.post("/inbox", content=b"{}")).status_code == 202
    assert seen[2:] == [f"rfc9421 {KEY_ID}"]


@pytest.mark.parametrize("status", [400, 403, 404, 410, 422, 500, 502, 503])
async def test_an_unproven_host_is_knocked_again_on_any_4xx_or_5xx(status: int) -> None:
    app, seen = remote_app(only("rfc9421", refusal=status))
    memory = SchemeMemory()
    async with client_for(app, signer(memory)) as client:
        response = await client.post("/inbox", content=b"{}")
    assert response.status_code == 202
    assert seen == ["cavage", f"rfc9421 {KEY_ID}"]
    assert memory.get(HOST) == RFC9421  # the accepted inbox POST proves it


async def test_429_is_not_knocked_again() -> None:
    app, seen = remote_app(lambda scheme, method: 429)
    memory = SchemeMemory()
    async with client_for(app, signer(memory)) as client:
        assert (await client.post("/inbox", content=b"{}")).status_code == 429
    assert seen == ["cavage"] and len(memory) == 0


async def test_a_public_get_teaches_nothing() -> None:
    app, seen = remote_app(lambda scheme, method: 200)  # answers whatever the signature
    memory = SchemeMemory()
    async with client_for(app, signer(memory)) as client:
        assert (await client.get("/inbox")).status_code == 200
    assert seen == ["cavage"] and len(memory) == 0


async def test_a_get_after_5xx_teaches_nothing_but_after_401_teaches_the_other_scheme() -> None:
    app, seen = remote_app(only("rfc9421", refusal=500))
    memory = SchemeMemory()
    async with client_for(app, signer(memory)) as client:
        assert (await client.get("/inbox")).status_code == 200
        assert seen == ["cavage", f"rfc9421 {KEY_ID}"] and len(memory) == 0
        app_401, seen_401 = remote_app(only("rfc9421", refusal=401))
    async with client_for(app_401, signer(memory)) as client:
        assert (await client.get("/inbox")).status_code == 200
    assert seen_401 == ["cavage", f"rfc9421 {KEY_ID}"]
    assert memory.get(HOST) == RFC9421


async def test_refused_by_both_schemes_remembers_nothing() -> None:
    app, seen = remote_app(lambda scheme, method: 401)
    memory = SchemeMemory()
    async with client_for(app, signer(memory)) as client:
        assert (await client.post("/inbox", content=b"{}")).status_code == 401
    assert seen == ["cavage", "rfc9421"] and len(memory) == 0


@pytest.mark.parametrize("status", [401, 403, 500])
async def test_a_proven_scheme_refused_is_dropped_and_the_other_knocked_at_once(status: int) -> None:
    app, seen = remote_app(only("cavage", refusal=status))
    memory = SchemeMemory()
    memory.remember(HOST, RFC9421)
    async with client_for(app, signer(memory)) as client:
        response = await client.post("/inbox", content=b"{}")
    assert response.status_code == 202
    assert seen == ["rfc9421", f"cavage {KEY_ID}"]
    assert memory.get(HOST) == CAVAGE


async def test_a_proven_scheme_answered_404_is_kept_and_not_knocked_again() -> None:
    app, seen = remote_app(lambda scheme, method: 404)
    memory = SchemeMemory()
    memory.remember(HOST, CAVAGE)
    async with client_for(app, signer(memory)) as client:
        assert (await client.get("/inbox")).status_code == 404
    assert seen == ["cavage"] and memory.get(HOST) == CAVAGE


async def test_a_proven_scheme_expires() -> None:
    now = [1000.0]
    memory = SchemeMemory(ttl=60, clock=lambda: now[0])
    memory.remember(HOST, RFC9421)
    now[0] += 59
    assert memory.get(HOST) == RFC9421
    now[0] += 2
    assert memory.get(HOST) is None and len(memory) == 0


async def test_accept_signature_on_a_refusal_chooses_the_second_knock() -> None:
    # The host asks for an Ed25519 RFC 9421 signature over chosen components, with a nonce and a tag.
    challenge = f'wanted=("@method" "@target-uri" "content-digest");keyid="{ED_KEY_ID}";nonce="n-1";tag="ap"'
    signatures: list[str] = []

    def behaviour(scheme: str, method: str) -> int | None:
        return 401 if scheme == "cavage" else None

    app, seen = remote_app(behaviour, {"Accept-Signature": challenge})

    async def record(request: httpx.Request) -> None:
        signatures.append(request.headers.get("signature-input", ""))

    memory = SchemeMemory()
    async with client_for(app, signer(memory)) as client:
        client.event_hooks["request"] = [record]
        response = await client.post("/inbox", content=b"{}")
    assert response.status_code == 202, response.text
    assert seen == ["cavage", f"rfc9421 {ED_KEY_ID}"]
    assert signatures[1].startswith('wanted=("@method" "@target-uri" "content-digest");created=')
    assert 'nonce="n-1"' in signatures[1] and 'tag="ap"' in signatures[1]
    assert memory.get(HOST) == Knock("rfc9421", "ed25519")  # the key, not what this one request was asked


def test_challenges_we_cannot_meet_are_passed_over() -> None:
    keys = {"rsa": KEY_ID, "ed25519": ED_KEY_ID}
    assert challenged_knock('a=("@method");keyid="https://other.example/k"', "POST", keys) is None  # type: ignore[arg-type]
    assert challenged_knock('a=("@method");alg="ecdsa-p256-sha256"', "POST", keys) is None  # type: ignore[arg-type]
    assert challenged_knock('a=("@method" "x-secret")', "POST", keys) is None  # type: ignore[arg-type]
    assert challenged_knock('a=("@method" "accept")', "POST", keys) is None  # type: ignore[arg-type]
    assert challenged_knock("not a dictionary (", "POST", keys) is None  # type: ignore[arg-type]
    assert challenged_knock("a=()", "POST", keys) is None  # type: ignore[arg-type]
    assert challenged_knock('a=("@method" "accept");alg="rsa-v1_5-sha256"', "GET", keys) == Knock(  # type: ignore[arg-type]
        "rfc9421", "rsa", "a", ("@method", "accept")
    )


def test_default_rfc9421_knock_signs_with_the_rsa_public_key() -> None:
    auth = signer(SchemeMemory())
    headers = auth.signature_headers("POST", "https://r.example/inbox", {}, b"{}", RFC9421)
    [parsed] = rfc9421.parse_signatures(headers["Signature-Input"], headers["Signature"])
    assert parsed.key_id == KEY_ID and parsed.alg == "rsa-v1_5-sha256"


def test_scheme_memory_is_bounded_lru() -> None:
    memory = SchemeMemory(max_hosts=2)
    memory.remember("a.example", CAVAGE)
    memory.remember("b.example", RFC9421)
    assert memory.get("a.example") == CAVAGE  # a is now the most recently used
    memory.remember("c.example", CAVAGE)
    assert memory.get("b.example") is None
    assert memory.get("a.example") == CAVAGE and memory.get("c.example") == CAVAGE
    assert len(memory) == 2


async def test_the_fragment_of_a_key_id_is_not_signed() -> None:
    # A key is fetched by its id ("…/actor#main-key"); the fragment is never sent, so RFC 9421's @target-uri
    # must not include it, or no server can verify the signature.
    app, seen = remote_app(only("rfc9421"))
    memory = SchemeMemory()
    memory.remember(HOST, RFC9421)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), auth=signer(memory)) as client:
        assert (await client.get(httpx.URL(f"https://{HOST}/inbox#main-key"))).status_code == 200
    assert seen == [f"rfc9421 {KEY_ID}"]
