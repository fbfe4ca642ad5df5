from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta

import pytest

from apub.errors import (
    DigestMismatch,
    KeyUnavailable,
    SignatureExpired,
    SignatureInvalid,
    SignatureMalformed,
    SignatureMissing,
)
from apub.httpsig import algorithms, cavage, rfc9421
from apub.httpsig.keyresolver import KeyResolver
from apub.httpsig.verify import PublicKeyRecord, Signer, verify_request
from apub.keys import (
    generate_ed25519_private_key_pem,
    generate_rsa_private_key_pem,
    load_private_key,
    load_public_key,
    public_key_to_multibase,
    public_key_to_pem,
)
from tests.apub import vectors as v

KEY_ID = "https://remote.example/users/alice#main-key"
OWNER = "https://remote.example/users/alice"
INBOX = "https://local.example/users/bob/inbox"
BODY = b'{"type": "Follow", "actor": "https://remote.example/users/alice"}'
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
RSA_KEY = load_private_key(generate_rsa_private_key_pem())
OTHER_RSA_KEY = load_private_key(generate_rsa_private_key_pem())


class DictLookup:
    """A KeyLookup over fixed records; ``refreshed`` is what a refresh returns (key rotation)."""

    def __init__(self, record: PublicKeyRecord | None, refreshed: PublicKeyRecord | None = None) -> None:
        self.record = record
        self.refreshed = refreshed or record
        self.calls: list[tuple[str, bool]] = []

    async def __call__(self, key_id: str, *, refresh: bool = False) -> PublicKeyRecord:
        self.calls.append((key_id, refresh))
        record = self.refreshed if refresh else self.record
        if record is None:
            raise KeyUnavailable("remote is down")
        return record


def record_for(private_key: object, key_id: str = KEY_ID) -> PublicKeyRecord:
    return PublicKeyRecord(key_id=key_id, owner=OWNER, public_key=private_key.public_key())  # type: ignore[attr-defined]


def cavage_post(*, when: datetime = NOW, body: bytes = BODY, key: object = RSA_KEY) -> dict[str, str]:
    headers = {"Content-Type": "application/activity+json"}
    headers.update(
        cavage.sign_request(
            "POST",
            INBOX,
            headers,
            body,
            key_id=KEY_ID,
            private_key=key,
            now=when.timestamp(),  # type: ignore[arg-type]
        )
    )
    return headers


def rfc9421_post(*, when: datetime = NOW, body: bytes = BODY, key: object = RSA_KEY) -> dict[str, str]:
    headers = {"Content-Type": "application/activity+json", "Host": "local.example"}
    headers.update(
        rfc9421.sign_request(
            "POST",
            INBOX,
            headers,
            body,
            key_id=KEY_ID,
            private_key=key,
            created=int(when.timestamp()),  # type: ignore[arg-type]
        )
    )
    return headers


async def test_cavage_post_verifies_and_names_the_owner() -> None:
    lookup = DictLookup(record_for(RSA_KEY))
    signer = await verify_request("POST", INBOX, cavage_post(), BODY, lookup, now=NOW)
    assert signer == Signer(key_id=KEY_ID, owner=OWNER, scheme="cavage")
    assert lookup.calls == [(KEY_ID, False)]


@pytest.mark.parametrize("key_pem", [generate_rsa_private_key_pem(), generate_ed25519_private_key_pem()])
async def test_rfc9421_post_verifies(key_pem: str) -> None:
    key = load_private_key(key_pem)
    signer = await verify_request(
        "POST", INBOX, rfc9421_post(key=key), BODY, DictLookup(record_for(key)), now=NOW
    )
    assert signer == Signer(key_id=KEY_ID, owner=OWNER, scheme="rfc9421")


async def test_cavage_get_with_authorization_header_and_created() -> None:
    headers = {"Host": "local.example", "Accept": "application/activity+json"}
    value = cavage.sign_request(
        "GET", "https://local.example/users/bob", headers, None, key_id=KEY_ID, private_key=RSA_KEY
    )["Signature"]
    # Re-sign with (created) instead of date, the way newer Mastodon versions can.
    created = int(NOW.timestamp())
    covered = ("(request-target)", "host", "(created)", "accept")
    message = cavage.signing_string(
        covered, "GET", "/users/bob", {k.lower(): h for k, h in headers.items()}, created
    )
    signature = base64.b64encode(algorithms.sign("rsa-v1_5-sha256", RSA_KEY, message.encode())).decode()
    assert value  # the plain signer works too; here we send the (created) variant
    headers["Authorization"] = (
        f'Signature keyId="{KEY_ID}",algorithm="hs2019",created={created},'
        f'headers="{" ".join(covered)}",signature="{signature}"'
    )
    signer = await verify_request(
        "GET", "https://local.example/users/bob", headers, b"", DictLookup(record_for(RSA_KEY)), now=NOW
    )
    assert signer.owner == OWNER


async def test_rfc9421_appendix_b_request_verifies_with_a_key_record_hint() -> None:
    headers = {**v.RFC_HEADERS, "Signature-Input": v.B23_INPUT, "Signature": v.B23_SIGNATURE}
    record = PublicKeyRecord(
        key_id="test-key-rsa-pss",
        owner="https://example.com/actor",
        public_key=load_public_key(v.RFC_RSA_PSS_PUBLIC_KEY_PEM),
        algorithm="rsa-pss-sha512",
    )
    now = datetime.fromtimestamp(v.RFC_CREATED + 10, UTC)
    signer = await verify_request("POST", v.RFC_URL, headers, v.RFC_BODY, DictLookup(record), now=now)
    assert signer.owner == "https://example.com/actor"


async def test_key_rotation_refreshes_once_then_succeeds() -> None:
    lookup = DictLookup(record_for(OTHER_RSA_KEY), refreshed=record_for(RSA_KEY))
    signer = await verify_request("POST", INBOX, cavage_post(), BODY, lookup, now=NOW)
    assert signer.owner == OWNER
    assert lookup.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_bad_signature_after_refresh_is_invalid() -> None:
    lookup = DictLookup(record_for(OTHER_RSA_KEY))
    with pytest.raises(SignatureInvalid):
        await verify_request("POST", INBOX, cavage_post(), BODY, lookup, now=NOW)
    assert lookup.calls == [(KEY_ID, False), (KEY_ID, True)]
    with pytest.raises(SignatureInvalid):
        await verify_request("POST", INBOX, rfc9421_post(), BODY, lookup, now=NOW)


async def test_tampered_url_is_invalid() -> None:
    with pytest.raises(SignatureInvalid):
        await verify_request(
            "POST",
            INBOX.replace("bob", "carol"),
            cavage_post(),
            BODY,
            DictLookup(record_for(RSA_KEY)),
            now=NOW,
        )


async def test_missing_signature() -> None:
    with pytest.raises(SignatureMissing) as caught:
        await verify_request("POST", INBOX, {"Host": "local.example"}, BODY, DictLookup(None), now=NOW)
    assert caught.value.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"Signature": 'keyId="k",signature="@@@"'},
        {"Signature-Input": "sig1=(", "Signature": "sig1=:AAAA:"},
        {"Signature-Input": 'sig1=("@method");keyid="k"'},
    ],
)
async def test_malformed_signature(headers: dict[str, str]) -> None:
    with pytest.raises(SignatureMalformed) as caught:
        await verify_request("POST", INBOX, headers, BODY, DictLookup(None), now=NOW)
    assert caught.value.status_code == 400


@pytest.mark.parametrize(
    ("when", "message"), [(NOW - timedelta(hours=2), "too old"), (NOW + timedelta(hours=2), "future")]
)
@pytest.mark.parametrize("sign", [cavage_post, rfc9421_post], ids=["cavage", "rfc9421"])
async def test_date_outside_window(when: datetime, message: str, sign) -> None:  # noqa: ANN001
    lookup = DictLookup(record_for(RSA_KEY))
    with pytest.raises(SignatureExpired, match=message):
        await verify_request("POST", INBOX, sign(when=when), BODY, lookup, now=NOW)
    assert lookup.calls == []  # rejected before any key fetch
    signer = await verify_request(
        "POST", INBOX, sign(when=when), BODY, lookup, now=when + timedelta(minutes=59)
    )
    assert signer.owner == OWNER


@pytest.mark.parametrize("sign", [cavage_post, rfc9421_post], ids=["cavage", "rfc9421"])
async def test_digest_mismatch(sign) -> None:  # noqa: ANN001
    lookup = DictLookup(record_for(RSA_KEY))
    with pytest.raises(DigestMismatch) as caught:
        await verify_request("POST", INBOX, sign(), BODY + b" ", lookup, now=NOW)
    assert caught.value.status_code == 401
    assert lookup.calls == []


async def test_digest_missing_on_post() -> None:
    headers = {"Host": "local.example", "Date": "Wed, 01 May 2024 12:00:00 GMT"}
    covered = ("(request-target)", "host", "date")
    message = cavage.signing_string(
        covered, "POST", "/users/bob/inbox", {k.lower(): h for k, h in headers.items()}
    )
    signature = base64.b64encode(algorithms.sign("rsa-v1_5-sha256", RSA_KEY, message.encode())).decode()
    headers["Signature"] = f'keyId="{KEY_ID}",headers="{" ".join(covered)}",signature="{signature}"'
    with pytest.raises(DigestMismatch):
        await verify_request("POST", INBOX, headers, BODY, DictLookup(record_for(RSA_KEY)), now=NOW)
    # A Digest header that the signature does not cover is a missing required component.
    headers["Digest"] = "SHA-256=AAAA"
    with pytest.raises(SignatureMalformed, match="digest"):
        await verify_request("POST", INBOX, headers, BODY, DictLookup(record_for(RSA_KEY)), now=NOW)


@pytest.mark.parametrize(
    ("covered", "missing"),
    [(("host", "date", "digest"), "request-target"), (("(request-target)", "date", "digest"), "host")],
)
async def test_missing_required_component_cavage(covered: tuple[str, ...], missing: str) -> None:
    headers = cavage_post()
    parsed = cavage.parse_signature_header(headers["Signature"])
    headers["Signature"] = (
        f'keyId="{KEY_ID}",headers="{" ".join(covered)}",signature="{headers["Signature"].split("signature=")[1][1:-1]}"'
    )
    assert parsed.key_id == KEY_ID
    with pytest.raises(SignatureMalformed, match=missing):
        await verify_request("POST", INBOX, headers, BODY, DictLookup(record_for(RSA_KEY)), now=NOW)


@pytest.mark.parametrize(
    ("components", "missing"),
    [
        (("@target-uri", "content-digest"), "@method"),
        (("@method", "@authority", "content-digest"), "@target-uri"),
        (("@method", "@target-uri", "content-type"), "content-digest"),
    ],
)
async def test_missing_required_component_rfc9421(components: tuple[str, ...], missing: str) -> None:
    headers = {"Content-Type": "application/activity+json"}
    headers.update(
        rfc9421.sign_request(
            "POST", INBOX, headers, BODY, key_id=KEY_ID, private_key=RSA_KEY, components=components,
            created=int(NOW.timestamp()),
        )
    )  # fmt: skip
    with pytest.raises(SignatureMalformed, match=missing):
        await verify_request("POST", INBOX, headers, BODY, DictLookup(record_for(RSA_KEY)), now=NOW)


async def test_key_unavailable_passes_through() -> None:
    with pytest.raises(KeyUnavailable) as caught:
        await verify_request("POST", INBOX, cavage_post(), BODY, DictLookup(None), now=NOW)
    assert caught.value.status_code == 503


# --- KeyResolver -------------------------------------------------------------------------


class Documents:
    """An injected ``fetch_json`` over a dict of documents, counting fetches."""

    def __init__(self, documents: dict[str, dict]) -> None:
        self.documents = documents
        self.fetched: list[str] = []

    async def __call__(self, url: str) -> dict:
        self.fetched.append(url)
        if url.split("#")[0] not in self.documents:
            raise ConnectionError(f"cannot reach {url}")
        return self.documents[url.split("#")[0]]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def actor_document(public_key: object, *, key_id: str = KEY_ID, listed: bool = True) -> dict:
    pem = public_key_to_pem(public_key)  # type: ignore[arg-type]
    document: dict = {"id": OWNER, "type": "Person", "inbox": OWNER + "/inbox"}
    if listed:
        document["publicKey"] = [{"id": key_id, "owner": OWNER, "publicKeyPem": pem}]
    return document


async def test_resolver_reads_the_key_from_the_actor_and_caches_it() -> None:
    documents = Documents({OWNER: actor_document(RSA_KEY.public_key())})
    resolver = KeyResolver(documents, clock=Clock())
    record = await resolver(KEY_ID)
    assert record.owner == OWNER and record.public_key == RSA_KEY.public_key()
    assert await resolver(KEY_ID) is record
    assert documents.fetched == [KEY_ID]
    signer = await verify_request("POST", INBOX, cavage_post(), BODY, resolver, now=NOW)
    assert signer.owner == OWNER and documents.fetched == [KEY_ID]


async def test_resolver_follows_a_standalone_key_to_its_owner() -> None:
    key_url = "https://remote.example/keys/1"
    key_document = {"id": key_url, "type": "CryptographicKey", "owner": OWNER}
    key_document["publicKeyPem"] = public_key_to_pem(RSA_KEY.public_key())
    documents = Documents(
        {key_url: key_document, OWNER: {**actor_document(RSA_KEY.public_key()), "publicKey": key_url}}
    )
    record = await KeyResolver(documents)(key_url)
    assert record.owner == OWNER
    assert documents.fetched == [key_url, OWNER]


async def test_resolver_rejects_a_key_its_claimed_owner_does_not_list() -> None:
    key_url = "https://evil.example/keys/1"
    key_document = {"id": key_url, "owner": OWNER, "publicKeyPem": public_key_to_pem(RSA_KEY.public_key())}
    documents = Documents({key_url: key_document, OWNER: actor_document(OTHER_RSA_KEY.public_key())})
    with pytest.raises(SignatureInvalid):
        await KeyResolver(documents)(key_url)


async def test_resolver_rejects_an_actor_that_does_not_list_the_key_or_lives_elsewhere() -> None:
    with pytest.raises(SignatureInvalid):
        await KeyResolver(Documents({OWNER: actor_document(RSA_KEY.public_key(), listed=False)}))(KEY_ID)
    foreign = {**actor_document(RSA_KEY.public_key()), "id": "https://elsewhere.example/users/alice"}
    with pytest.raises(SignatureInvalid):
        await KeyResolver(Documents({OWNER: foreign}))(KEY_ID)


async def test_resolver_reads_multikeys_from_assertion_method() -> None:
    ed_key = load_private_key(generate_ed25519_private_key_pem())
    key_id = OWNER + "#ed25519-key"
    actor = actor_document(RSA_KEY.public_key())
    actor["assertionMethod"] = [
        {
            "id": key_id,
            "type": "Multikey",
            "controller": OWNER,
            "publicKeyMultibase": public_key_to_multibase(ed_key.public_key()),  # type: ignore[arg-type]
        }
    ]
    resolver = KeyResolver(Documents({OWNER: actor}))
    record = await resolver(key_id)
    assert record.public_key == ed_key.public_key()
    headers = {"Content-Type": "application/activity+json"}
    headers.update(
        rfc9421.sign_request(
            "POST",
            INBOX,
            headers,
            BODY,
            key_id=key_id,
            private_key=ed_key,
            created=int(NOW.timestamp()),  # type: ignore[arg-type]
        )
    )
    assert (await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)).owner == OWNER


async def test_resolver_caches_failures_briefly() -> None:
    clock = Clock()
    documents = Documents({})
    resolver = KeyResolver(documents, negative_ttl=60, clock=clock)
    for _ in range(3):
        with pytest.raises(KeyUnavailable):
            await resolver(KEY_ID)
    assert documents.fetched == [KEY_ID]
    clock.now += 61
    documents.documents[OWNER] = actor_document(RSA_KEY.public_key())
    assert (await resolver(KEY_ID)).owner == OWNER
    assert documents.fetched == [KEY_ID, KEY_ID]


async def test_resolver_refresh_refetches_at_most_once_per_interval() -> None:
    clock = Clock()
    documents = Documents({OWNER: actor_document(OTHER_RSA_KEY.public_key())})
    resolver = KeyResolver(documents, min_refresh_interval=60, clock=clock)
    await resolver(KEY_ID)
    documents.documents[OWNER] = actor_document(RSA_KEY.public_key())  # the sender rotated its key
    assert (await resolver(KEY_ID, refresh=True)).public_key == OTHER_RSA_KEY.public_key()  # too soon
    clock.now += 61
    signer = await verify_request("POST", INBOX, cavage_post(), BODY, resolver, now=NOW)
    assert signer.owner == OWNER
    assert documents.fetched == [KEY_ID, KEY_ID]


async def test_resolver_uses_load_and_save_hooks() -> None:
    saved: list[PublicKeyRecord] = []
    stored = record_for(RSA_KEY)

    async def load(key_id: str) -> PublicKeyRecord | None:
        return stored if key_id == KEY_ID else None

    async def save(record: PublicKeyRecord) -> None:
        saved.append(record)

    documents = Documents({"https://other.example/u": {**actor_document(RSA_KEY.public_key()), "id": "x"}})
    resolver = KeyResolver(documents, load=load, save=save)
    assert await resolver(KEY_ID) is stored
    assert documents.fetched == []
    documents.documents[OWNER] = actor_document(OTHER_RSA_KEY.public_key())
    refreshed = await resolver(KEY_ID, refresh=True)
    assert refreshed.public_key == OTHER_RSA_KEY.public_key()
    assert saved == [refreshed]


class GatedDocuments(Documents):
    """`Documents` whose fetches wait until `gate` opens, so lookups can overlap."""

    def __init__(self, documents: dict[str, dict]) -> None:
        super().__init__(documents)
        self.gate = asyncio.Event()
        self.started = 0

    async def __call__(self, url: str) -> dict:
        self.started += 1
        await self.gate.wait()
        return await super().__call__(url)


async def test_resolver_fetches_a_key_once_for_lookups_that_overlap() -> None:
    # A busy new sender's first deliveries arrive together: one fetch of its key serves them all (a fetch
    # each would hold as many requests and connections to its server, and save the key as many times).
    saved: list[PublicKeyRecord] = []

    async def save(record: PublicKeyRecord) -> None:
        saved.append(record)

    documents = GatedDocuments({OWNER: actor_document(RSA_KEY.public_key())})
    resolver = KeyResolver(documents, save=save)
    lookups = [asyncio.create_task(resolver(KEY_ID)) for _ in range(5)]
    while not documents.started:
        await asyncio.sleep(0)
    for _ in range(5):
        await asyncio.sleep(0)  # every lookup has had its turn to start a fetch of its own
    documents.gate.set()
    records = await asyncio.gather(*lookups)
    assert {record.owner for record in records} == {OWNER}
    assert documents.fetched == [KEY_ID]
    assert len(saved) == 1


async def test_resolver_shares_a_failed_fetch_between_lookups_that_overlap() -> None:
    documents = GatedDocuments({})
    resolver = KeyResolver(documents)
    lookups = [asyncio.create_task(resolver(KEY_ID)) for _ in range(3)]
    while not documents.started:
        await asyncio.sleep(0)
    for _ in range(5):
        await asyncio.sleep(0)
    documents.gate.set()
    outcomes = await asyncio.gather(*lookups, return_exceptions=True)
    assert all(isinstance(outcome, KeyUnavailable) for outcome in outcomes)
    assert documents.fetched == [KEY_ID]
