"""A domain block's public and private comment and its obfuscation, as Mastodon has them: set through the
admin API, answered in the Admin::DomainBlock entity, recorded in the audit log; published by
`/api/v1/instance/domain_blocks` and the about page with the domain obfuscated (and its SHA-256 digest) and
only the public comment, to the readers the admin chose. Bad terms are a 422 that changes nothing. On
SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from storage.models import AuditEntry, DomainBlock, User
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import bearer, make_token, make_user
from support.openapi import validate_entity
from support.web import PASSWORD, web_login

DOMAIN = "spamfarm.example"
# Mastodon's obfuscation of these 16 characters: the first quarter (4) and the one after it, the last
# quarter and the dot stay; the rest is `*`.
OBFUSCATED = "spamf***.***mple"
PUBLIC = "Sends nothing but advertising"
PRIVATE = "Ticket 4711: three members complained"
ADMIN_SCOPES = "read write admin:read admin:write"


@pytest.fixture
async def instance(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    """An instance on each backend that shows the moderated servers to all, their reasons to users;
    `ada` is an admin, `alice` a user."""
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        **{"instance.show_domain_blocks": "all", "instance.show_domain_block_reasons": "users"},
    )
    async with serve_in_process(settings) as running:
        assert running.ctx is not None
        for name, role in (("ada", "admin"), ("alice", "user")):
            account = await make_user(running.ctx, name, PASSWORD)
            async with running.ctx.db.transaction() as session:
                await session.execute(update(User).where(User.account_id == account.id).values(role=role))
        yield running


async def _stored(instance: RunningInstance) -> tuple[list[tuple[Any, ...]], int]:
    """The blocks as stored, and how many audit entries there are."""
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        blocks = await session.execute(
            select(
                DomainBlock.domain,
                DomainBlock.severity,
                DomainBlock.reject_media,
                DomainBlock.reject_reports,
                DomainBlock.public_comment,
                DomainBlock.private_comment,
                DomainBlock.obfuscate,
            ).order_by(DomainBlock.domain)
        )
        audited = await session.scalar(select(func.count()).select_from(AuditEntry))
    return [tuple(row) for row in blocks], int(audited or 0)


def _unprocessable(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert isinstance(response.json().get("error"), str) and field in response.text


async def test_public_and_private_comments_and_obfuscation(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    admin = bearer(await make_token(instance.ctx, "ada", scopes=ADMIN_SCOPES))
    user = bearer(await make_token(instance.ctx, "alice"))
    terms = {
        "severity": "silence",
        "reject_media": True,
        "reject_reports": True,
        "public_comment": PUBLIC,
        "private_comment": PRIVATE,
        "obfuscate": True,
    }
    async with instance.client() as http:
        created = await http.post(
            "/api/v1/admin/domain_blocks", json={"domain": DOMAIN, **terms}, headers=admin
        )
        assert created.status_code == 200, created.text
        block = created.json()
        validate_entity("AdminDomainBlock", block, all_properties=True)
        assert {name: block[name] for name in terms} == terms
        assert block["domain"] == DOMAIN  # staff see the real name

        # The public list: obfuscated, with the real domain's digest, the public comment to users only.
        digest = hashlib.sha256(DOMAIN.encode()).hexdigest()
        anonymous = await http.get("/api/v1/instance/domain_blocks")
        assert anonymous.status_code == 200, anonymous.text
        assert anonymous.json() == [{"domain": OBFUSCATED, "digest": digest, "severity": "silence"}]
        signed_in = await http.get("/api/v1/instance/domain_blocks", headers=user)
        assert signed_in.json() == [
            {"domain": OBFUSCATED, "digest": digest, "severity": "silence", "comment": PUBLIC}
        ]
        for published in (anonymous, signed_in):
            assert PRIVATE not in published.text and DOMAIN not in published.text

        # The audit log keeps every term, the private comment too (it is for staff).
        async with instance.ctx.db.read() as session:
            entry = (
                (await session.execute(select(AuditEntry).order_by(AuditEntry.id.desc()))).scalars().first()
            )
        assert entry is not None and entry.action == "domain.block"
        assert {name: entry.details[name] for name in terms} == terms

        # PUT changes what it names and keeps the rest.
        changed = await http.put(
            f"/api/v1/admin/domain_blocks/{DOMAIN}",
            json={"private_comment": "Ticket 4712", "obfuscate": False},
            headers=admin,
        )
        assert changed.status_code == 200, changed.text
        assert (changed.json()["public_comment"], changed.json()["private_comment"]) == (
            PUBLIC,
            "Ticket 4712",
        )
        assert changed.json()["obfuscate"] is False
        unobfuscated = (await http.get("/api/v1/instance/domain_blocks")).json()
        assert [item["domain"] for item in unobfuscated] == [DOMAIN]


async def test_the_about_page_follows_the_same_rule(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    admin = bearer(await make_token(instance.ctx, "ada", scopes=ADMIN_SCOPES))
    async with instance.client(headers={"Accept-Language": "en"}) as http:
        for domain, obfuscate in ((DOMAIN, True), ("loud.example", False)):
            created = await http.post(
                "/api/v1/admin/domain_blocks",
                json={
                    "domain": domain,
                    "severity": "suspend",
                    "public_comment": PUBLIC,
                    "private_comment": PRIVATE,
                    "obfuscate": obfuscate,
                },
                headers=admin,
            )
            assert created.status_code == 200, created.text
        anonymous = await http.get("/about")
        assert anonymous.status_code == 200
        assert "Moderated servers" in anonymous.text
        assert OBFUSCATED in anonymous.text and "loud.example" in anonymous.text
        assert DOMAIN not in anonymous.text and PRIVATE not in anonymous.text
        assert PUBLIC not in anonymous.text  # reasons are for signed-in users
        await web_login(http, "alice", PASSWORD)
        signed_in = await http.get("/about")
        assert PUBLIC in signed_in.text and OBFUSCATED in signed_in.text
        assert DOMAIN not in signed_in.text and PRIVATE not in signed_in.text


async def test_bad_terms_are_refused_and_change_nothing(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    admin = bearer(await make_token(instance.ctx, "ada", scopes=ADMIN_SCOPES))
    async with instance.client() as http:
        created = await http.post(
            "/api/v1/admin/domain_blocks",
            json={"domain": DOMAIN, "public_comment": PUBLIC, "private_comment": PRIVATE, "obfuscate": True},
            headers=admin,
        )
        assert created.status_code == 200, created.text
        before = await _stored(instance)
        for body, field in (
            ({"obfuscate": "perhaps"}, "obfuscate"),
            ({"reject_reports": "sometimes"}, "reject_reports"),
            ({"severity": "nuke"}, "severity"),
            ({"public_comment": "x" * 1001}, "public_comment"),
            ({"private_comment": "x" * 1001, "obfuscate": False}, "private_comment"),
        ):
            _unprocessable(
                await http.put(f"/api/v1/admin/domain_blocks/{DOMAIN}", json=body, headers=admin), field
            )
            _unprocessable(
                await http.post(
                    "/api/v1/admin/domain_blocks", json={"domain": "other.example", **body}, headers=admin
                ),
                field,
            )
        assert await _stored(instance) == before
        public = (await http.get("/api/v1/instance/domain_blocks")).json()
        assert [item["domain"] for item in public] == [OBFUSCATED]
