"""Benchmark: our full signature verification path vs a bare RSA-2048 verify.

Run from the repository root: ``python bench/signatures.py``. Measures, in the same run,
(a) ``verify_request`` on a Mastodon-style signed POST (draft-cavage ``rsa-sha256`` over
``(request-target) host date digest content-type``): header parsing, date window, SHA-256
body digest, key from an in-memory cached ``KeyResolver``, RSA verify; and (b) a bare
``cryptography`` PKCS#1 v1.5 SHA-256 verify of the same signing string with the same key.
Rounds alternate between the two and the best round of each counts, which keeps noise from
other processes out of the ratio. The last line is ``RATIO <ours/bare>`` (target >= 0.8).
"""

from __future__ import annotations

import asyncio
import base64
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402

from apub.httpsig import cavage  # noqa: E402
from apub.httpsig.keyresolver import KeyResolver  # noqa: E402
from apub.httpsig.verify import verify_request  # noqa: E402
from apub.keys import generate_rsa_private_key_pem, load_private_key, public_key_to_pem  # noqa: E402

KEY_ID = "https://remote.example/users/alice#main-key"
OWNER = "https://remote.example/users/alice"
INBOX = "https://local.example/users/bob/inbox"
ROUNDS = 7
PER_ROUND = 2000


async def main() -> None:
    """Run both measurements and print their rates and the ratio."""
    private_key = load_private_key(generate_rsa_private_key_pem())
    public_key = private_key.public_key()
    actor = {
        "id": OWNER,
        "publicKey": {"id": KEY_ID, "owner": OWNER, "publicKeyPem": public_key_to_pem(public_key)},
    }

    async def fetch_json(url: str) -> dict:
        return actor

    resolver = KeyResolver(fetch_json)
    body = (
        b'{"@context":"https://www.w3.org/ns/activitystreams","id":"https://remote.example/activities/1",'
        b'"type":"Create","actor":"https://remote.example/users/alice","object":{"type":"Note",'
        b'"content":"Hello, fediverse! This is a typical short post with a little text in it."}}'
    )
    headers = {
        "Host": "local.example",
        "Content-Type": "application/activity+json",
        "User-Agent": "Mastodon/4.3.0 (bench)",
        "Accept-Encoding": "gzip",
        "Content-Length": str(len(body)),
    }
    now = datetime.now(UTC)
    headers.update(
        cavage.sign_request(
            "POST", INBOX, headers, body, key_id=KEY_ID, private_key=private_key, now=now.timestamp()
        )
    )
    signer = await verify_request("POST", INBOX, headers, body, resolver, now=now)  # warms the key cache
    assert signer.owner == OWNER

    parsed = cavage.parse_signature_header(headers["Signature"])
    message = cavage.signing_string(
        parsed.headers, "POST", "/users/bob/inbox", {k.lower(): v for k, v in headers.items()}
    ).encode()
    signature = (
        base64.b64decode(parsed.signature_b64) if hasattr(parsed, "signature_b64") else parsed.signature
    )

    def bare_round() -> float:
        start = time.perf_counter()
        for _ in range(PER_ROUND):
            public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        return PER_ROUND / (time.perf_counter() - start)

    async def ours_round() -> float:
        start = time.perf_counter()
        for _ in range(PER_ROUND):
            await verify_request("POST", INBOX, headers, body, resolver, now=now)
        return PER_ROUND / (time.perf_counter() - start)

    bare_rates, our_rates = [], []
    for _ in range(ROUNDS):
        bare_rates.append(bare_round())
        our_rates.append(await ours_round())
    bare, ours = max(bare_rates), max(our_rates)
    print(f"bare cryptography RSA-2048 verify: {bare:10.0f} /s")
    print(f"full verify_request (cavage):      {ours:10.0f} /s")
    print(f"RATIO {ours / bare:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
