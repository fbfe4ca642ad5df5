from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from apub.errors import SignatureError
from apub.httpsig.auth import SchemeMemory, SignatureAuth
from apub.httpsig.verify import PublicKeyRecord, verify_request
from apub.keys import generate_ed25519_private_key_pem, generate_rsa_private_key_pem, load_private_key

KEY_ID = "https://local.example/users/alice#main-key"
ED_KEY_ID = "https://local.example/users/alice#ed25519-key"
OWNER = "https://local.example/users/alice"
RSA_KEY = load_private_key(generate_rsa_private_key_pem())
ED_KEY = load_private_key(generate_ed25519_private_key_pem())


def remote_app(*, accept: frozenset[str]) -> tuple[Starlette, list[str]]:
    """A remote inbox that verifies signatures for real and accepts only the given schemes.

    Returns the app and the log of (scheme tried) per request it received.
    """
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
        if scheme not in accept:
            return JSONResponse({"error": "unsupported signature scheme"}, status_code=401)
        try:
            signer = await verify_request(
                request.method, str(request.url), request.headers, await request.body(), lookup
            )
        except SignatureError as error:
            return JSONResponse({"error": str(error)}, status_code=error.status_code)
        return JSONResponse({"owner": signer.owner, "key_id": signer.key_id}, status_code=202)

    return Starlette(routes=[Route("/inbox", endpoint, methods=["GET", "POST"])]), seen


def client_for(app: Starlette, auth: SignatureAuth) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://remote.example", auth=auth
    )


async def test_double_knock_falls_back_to_cavage_and_remembers_it() -> None:
    app, seen = remote_app(accept=frozenset({"cavage"}))
    memory = SchemeMemory()
    auth = SignatureAuth(KEY_ID, RSA_KEY, scheme_memory=memory)  # type: ignore[arg-type]
    async with client_for(app, auth) as client:
        response = await client.post(
            "/inbox", json={"type": "Follow"}, headers={"Content-Type": "application/activity+json"}
        )
        assert response.status_code == 202, response.text
        assert response.json()["owner"] == OWNER
        assert seen == ["rfc9421", "cavage"]
        assert memory.get("remote.example") == "cavage"
        response = await client.post("/inbox", json={"type": "Like"})
        assert response.status_code == 202
        assert seen == ["rfc9421", "cavage", "cavage"]  # one round trip once the scheme is known
        response = await client.get("/inbox", headers={"Accept": "application/activity+json"})
        assert response.status_code == 202
        assert seen[-1] == "cavage" and len(seen) == 4


async def test_rfc9421_host_costs_one_round_trip() -> None:
    app, seen = remote_app(accept=frozenset({"rfc9421", "cavage"}))
    memory = SchemeMemory()
    auth = SignatureAuth(KEY_ID, RSA_KEY, scheme_memory=memory)  # type: ignore[arg-type]
    async with client_for(app, auth) as client:
        for _ in range(2):
            response = await client.post("/inbox", content=b'{"type": "Follow"}')
            assert response.status_code == 202, response.text
            assert response.json()["key_id"] == KEY_ID
    assert seen == ["rfc9421", "rfc9421"]
    assert memory.get("remote.example") == "rfc9421"


async def test_ed25519_key_signs_rfc9421_when_given() -> None:
    app, seen = remote_app(accept=frozenset({"rfc9421"}))
    auth = SignatureAuth(
        KEY_ID,
        RSA_KEY,  # type: ignore[arg-type]
        scheme_memory=SchemeMemory(),
        ed25519_key_id=ED_KEY_ID,
        ed25519_private_key=ED_KEY,  # type: ignore[arg-type]
    )
    async with client_for(app, auth) as client:
        response = await client.post("/inbox", content=b"{}")
    assert response.status_code == 202, response.text
    assert response.json()["key_id"] == ED_KEY_ID


async def test_a_remembered_scheme_that_fails_is_forgotten() -> None:
    app, seen = remote_app(accept=frozenset({"cavage"}))
    memory = SchemeMemory()
    memory.remember("remote.example", "rfc9421")
    auth = SignatureAuth(KEY_ID, RSA_KEY, scheme_memory=memory)  # type: ignore[arg-type]
    async with client_for(app, auth) as client:
        response = await client.post("/inbox", content=b"{}")
        assert response.status_code == 401
        assert memory.get("remote.example") is None
        response = await client.post("/inbox", content=b"{}")
        assert response.status_code == 202
    assert seen == ["rfc9421", "rfc9421", "cavage"]


async def test_rejected_by_both_schemes_remembers_nothing() -> None:
    app, seen = remote_app(accept=frozenset())
    memory = SchemeMemory()
    auth = SignatureAuth(KEY_ID, RSA_KEY, scheme_memory=memory)  # type: ignore[arg-type]
    async with client_for(app, auth) as client:
        response = await client.post("/inbox", content=b"{}")
    assert response.status_code == 401
    assert seen == ["rfc9421", "cavage"]
    assert len(memory) == 0


def test_scheme_memory_is_bounded_lru() -> None:
    memory = SchemeMemory(max_hosts=2)
    memory.remember("a.example", "cavage")
    memory.remember("b.example", "rfc9421")
    assert memory.get("a.example") == "cavage"  # a is now the most recently used
    memory.remember("c.example", "cavage")
    assert memory.get("b.example") is None
    assert memory.get("a.example") == "cavage" and memory.get("c.example") == "cavage"
    assert len(memory) == 2
