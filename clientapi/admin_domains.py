"""Domain policy in the Mastodon admin API: `/api/v1/admin/domain_blocks` (list, one, create, update,
delete) and `/api/v1/admin/domain_allows` (list, one, create, delete). Admins only. Every change is the
CLI's moderation action (`moderation.block_domain` …), so it severs, silences or releases the stored
accounts of the domain and writes the same audit entry, naming the acting user.

A block or allow is keyed by its domain in Plein, so the entity's `id` is the domain itself (Mastodon's ids
are opaque strings). A block's terms are Mastodon's (`storage.domains.BlockTerms`): severity, reject_media,
reject_reports, public_comment (published where reasons are shown), private_comment (staff only) and
obfuscate (published with the middle of the name as `*`). PUT changes only the terms it names; refused
terms (an unknown severity, a comment over 1000 characters, a word that is not a boolean) are a 422 and
change nothing."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import moderation
from clientapi.admin_access import ADMIN_ROLES, audit_actor, require_staff
from clientapi.entities.common import format_time
from clientapi.errors import NotFound, Unprocessable, ValidationCode
from clientapi.params import Params, read_params
from clientapi.responses import api_response
from storage import domains
from storage.context import Context
from storage.models import DomainAllow, DomainBlock

READ_BLOCKS = ("admin:read:domain_blocks",)
WRITE_BLOCKS = ("admin:write:domain_blocks",)
READ_ALLOWS = ("admin:read:domain_allows",)
WRITE_ALLOWS = ("admin:write:domain_allows",)


def domain_block_to_entity(block: DomainBlock) -> dict[str, Any]:
    """The Admin::DomainBlock entity of a block."""
    return {
        "id": block.domain,
        "domain": block.domain,
        "digest": hashlib.sha256(block.domain.encode()).hexdigest(),
        "created_at": format_time(block.created_at),
        "severity": block.severity,
        "reject_media": block.reject_media,
        "reject_reports": block.reject_reports,
        "private_comment": block.private_comment or None,
        "public_comment": block.public_comment or None,
        "obfuscate": block.obfuscate,
    }


def domain_allow_to_entity(allow: DomainAllow) -> dict[str, Any]:
    """The Admin::DomainAllow entity of an allow-list entry."""
    return {"id": allow.domain, "domain": allow.domain, "created_at": format_time(allow.created_at)}


def _domain_param(params: Params) -> str:
    raw = params.require_str("domain")
    try:
        return domains.normalise_domain(raw)
    except ValueError as error:
        raise Unprocessable(
            f"Validation failed: {error}", field="domain", code=ValidationCode.INVALID
        ) from error


async def _block(ctx: Context, domain: str) -> DomainBlock:
    async with ctx.db.read() as session:
        block = await session.get(DomainBlock, domain.lower())
    if block is None:
        raise NotFound()
    return block


async def _allow(ctx: Context, domain: str) -> DomainAllow:
    async with ctx.db.read() as session:
        allow = await session.get(DomainAllow, domain.lower())
    if allow is None:
        raise NotFound()
    return allow


_FLAGS = ("reject_media", "reject_reports", "obfuscate")
_TEXTS = ("severity", "public_comment", "private_comment")


def _terms_param(params: Params, current: domains.BlockTerms) -> domains.BlockTerms:
    """The `current` terms with those the request names (an empty `severity` keeps the current one)."""
    changes: dict[str, Any] = {}
    for name in _FLAGS:
        if (flag := params.get_bool(name)) is not None:
            changes[name] = flag
    for name in _TEXTS:
        if (text := params.get_str(name, max_length=None)) is not None and (text or name != "severity"):
            changes[name] = text.strip()
    terms = replace(current, **changes)
    refusal = terms.refusal()
    if refusal is not None:
        field, message = refusal
        code = ValidationCode.INCLUSION if field == "severity" else ValidationCode.TOO_LONG
        raise Unprocessable(f"Validation failed: {message}", field=field, code=code)
    return terms


async def _apply_block(
    request: Request, params: Params, domain: str, current: DomainBlock | None
) -> Response:
    """Block `domain` with the request's terms over the `current` block's (the same moderation action
    creates and changes a block)."""
    ctx: Context = request.state.ctx
    auth = await require_staff(request, *WRITE_BLOCKS, roles=ADMIN_ROLES)
    terms = _terms_param(params, domains.terms_of(current) if current else domains.BlockTerms())
    await moderation.block_domain(ctx, domain, actor=audit_actor(auth), **terms.as_dict())
    return api_response(domain_block_to_entity(await _block(ctx, domain)))


async def list_blocks(request: Request) -> Response:
    ctx: Context = request.state.ctx
    await require_staff(request, *READ_BLOCKS, roles=ADMIN_ROLES)
    async with ctx.db.read() as session:
        blocks = await domains.list_domain_blocks(session)
    return api_response([domain_block_to_entity(block) for block in blocks])


async def show_block(request: Request) -> Response:
    await require_staff(request, *READ_BLOCKS, roles=ADMIN_ROLES)
    return api_response(domain_block_to_entity(await _block(request.state.ctx, request.path_params["id"])))


async def create_block(request: Request) -> Response:
    """Block a domain; as Mastodon, a domain already blocked is a 422 (change it with PUT)."""
    await require_staff(request, *WRITE_BLOCKS, roles=ADMIN_ROLES)
    params = await read_params(request)
    domain = _domain_param(params)
    async with request.state.ctx.db.read() as session:
        existing = await session.get(DomainBlock, domain)
    if existing is not None:
        raise Unprocessable(
            f"Validation failed: {domain} is already blocked", field="domain", code=ValidationCode.TAKEN
        )
    return await _apply_block(request, params, domain, None)


async def update_block(request: Request) -> Response:
    await require_staff(request, *WRITE_BLOCKS, roles=ADMIN_ROLES)
    current = await _block(request.state.ctx, request.path_params["id"])
    return await _apply_block(request, await read_params(request), current.domain, current)


async def delete_block(request: Request) -> Response:
    ctx: Context = request.state.ctx
    auth = await require_staff(request, *WRITE_BLOCKS, roles=ADMIN_ROLES)
    block = await _block(ctx, request.path_params["id"])
    await moderation.unblock_domain(ctx, block.domain, actor=audit_actor(auth))
    return api_response({})


async def list_allows(request: Request) -> Response:
    ctx: Context = request.state.ctx
    await require_staff(request, *READ_ALLOWS, roles=ADMIN_ROLES)
    async with ctx.db.read() as session:
        allows = (await session.execute(select(DomainAllow).order_by(DomainAllow.domain))).scalars()
        return api_response([domain_allow_to_entity(allow) for allow in allows])


async def show_allow(request: Request) -> Response:
    await require_staff(request, *READ_ALLOWS, roles=ADMIN_ROLES)
    return api_response(domain_allow_to_entity(await _allow(request.state.ctx, request.path_params["id"])))


async def create_allow(request: Request) -> Response:
    """Allow a domain (again: the existing entry is answered, as Mastodon does)."""
    ctx: Context = request.state.ctx
    auth = await require_staff(request, *WRITE_ALLOWS, roles=ADMIN_ROLES)
    domain = _domain_param(await read_params(request))
    await moderation.allow_domain(ctx, domain, actor=audit_actor(auth))
    return api_response(domain_allow_to_entity(await _allow(ctx, domain)))


async def delete_allow(request: Request) -> Response:
    ctx: Context = request.state.ctx
    auth = await require_staff(request, *WRITE_ALLOWS, roles=ADMIN_ROLES)
    allow = await _allow(ctx, request.path_params["id"])
    await moderation.disallow_domain(ctx, allow.domain, actor=audit_actor(auth))
    return api_response({})


routes = [
    Route("/api/v1/admin/domain_blocks", list_blocks, methods=["GET"]),
    Route("/api/v1/admin/domain_blocks", create_block, methods=["POST"]),
    Route("/api/v1/admin/domain_blocks/{id}", show_block, methods=["GET"]),
    Route("/api/v1/admin/domain_blocks/{id}", update_block, methods=["PUT"]),
    Route("/api/v1/admin/domain_blocks/{id}", delete_block, methods=["DELETE"]),
    Route("/api/v1/admin/domain_allows", list_allows, methods=["GET"]),
    Route("/api/v1/admin/domain_allows", create_allow, methods=["POST"]),
    Route("/api/v1/admin/domain_allows/{id}", show_allow, methods=["GET"]),
    Route("/api/v1/admin/domain_allows/{id}", delete_allow, methods=["DELETE"]),
]
