"""`/web/admin/domains`: the domain policy — blocks, the allow-list and the federation mode. Moderators and
admins see it; only admins change it (Mastodon's `manage_federation`). A change takes two steps: the form
posts to a preview that runs the moderation action as a dry run (rolled back, so its counts are exactly
what the real run would cut), then the confirm button runs it for real. Both are `moderation`'s domain
actions, the same as `plein domain …` and `/api/v1/admin/domain_*`, audited under the admin's name."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import moderation
from login.sessions import SignedIn
from storage import domains
from storage.context import Context
from web.forms import Form
from web.moderation.common import actor_of
from web.pages import render_page
from web.staff.access import ADMIN_ROLES, form_endpoint, see_other, staff_or_refusal

PAGE = "/web/admin/domains"
ACTIONS = ("block", "unblock", "allow", "disallow")
FLAGS = ("reject_media", "reject_reports", "obfuscate")  # the block's check boxes
TEXTS = ("public_comment", "private_comment")
FIELDS = ("action", "domain", "severity", *FLAGS, *TEXTS)  # what the preview carries over to the confirm
_TERMS_REFUSALS = {"severity": "bad_severity", "public_comment": "too_long", "private_comment": "too_long"}
_UNDONE = {"unblock": "not_blocked", "disallow": "not_allowed"}  # the only refusals of the actions themselves


def _request_of(form: Form) -> dict[str, str]:
    """The change a form asks for, as the hidden fields the preview carries over to the confirm."""
    return {
        "action": form.get("action"),
        "domain": form.get("domain").strip(),
        "severity": form.get("severity", "suspend"),
        **{name: "1" if form.get(name) else "" for name in FLAGS},
        **{name: form.get(name).strip() for name in TEXTS},
    }


def _terms(change: dict[str, str]) -> domains.BlockTerms:
    """The terms of the block a change asks for."""
    return domains.BlockTerms(
        severity=change["severity"],
        **{name: bool(change[name]) for name in FLAGS},
        **{name: change[name] for name in TEXTS},
    )


def _refusal(change: dict[str, str]) -> str:
    """Why the change cannot be asked for (a code the page words), or ""."""
    if change["action"] not in ACTIONS:
        return "bad_action"
    try:
        change["domain"] = domains.normalise_domain(change["domain"])
    except ValueError:
        return "invalid_domain"
    refusal = _terms(change).refusal() if change["action"] == "block" else None
    return _TERMS_REFUSALS[refusal[0]] if refusal else ""


async def _run(
    ctx: Context, login: SignedIn, change: dict[str, str], *, dry_run: bool
) -> moderation.DomainOutcome:
    """The moderation action the change names (raises ModerationError when there is nothing to undo)."""
    options = {"actor": actor_of(login), "dry_run": dry_run}
    action, domain = change["action"], change["domain"]
    if action == "block":
        return await moderation.block_domain(ctx, domain, **_terms(change).as_dict(), **options)
    if action == "unblock":
        return await moderation.unblock_domain(ctx, domain, **options)
    if action == "allow":
        return await moderation.allow_domain(ctx, domain, **options)
    return await moderation.disallow_domain(ctx, domain, **options)


async def _list_page(
    request: Request, login: SignedIn, *, status_code: int = 200, error: str = ""
) -> Response:
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        blocks = await domains.list_domain_blocks(session)
        allows = await domains.list_domain_allows(session)
    return await render_page(
        request,
        "administration/domains.html",
        status_code,
        blocks=blocks,
        allows=allows,
        allowlist_mode=ctx.settings.federation.mode == "allowlist",
        may_change=login.user.role in ADMIN_ROLES,
        severities=domains.SEVERITIES,
        max_comment=domains.MAX_COMMENT,
        obfuscated_domain=domains.obfuscated_domain,
        error=error,
        done=request.query_params.get("done", "") if status_code == 200 else "",
        done_domain=request.query_params.get("domain", ""),
    )


async def domains_page(request: Request) -> Response:
    login = await staff_or_refusal(request)
    return login if isinstance(login, Response) else await _list_page(request, login)


async def _posted_change(request: Request, login: SignedIn, form: Form) -> dict[str, str] | Response:
    """The change the admin posted, or the page that refuses it (422, nothing changed)."""
    change = _request_of(form)
    refusal = _refusal(change)
    if refusal:
        return await _list_page(request, login, status_code=422, error=refusal)
    return change


async def preview(request: Request, login: SignedIn, form: Form) -> Response:
    """The dry run's counts and the confirm button."""
    ctx: Context = request.state.ctx
    change = await _posted_change(request, login, form)
    if isinstance(change, Response):
        return change
    try:
        outcome = await _run(ctx, login, change, dry_run=True)
    except moderation.ModerationError:
        return await _list_page(
            request, login, status_code=422, error=_UNDONE.get(change["action"], "cannot")
        )
    return await render_page(
        request,
        "administration/domain_preview.html",
        change=change,
        fields=FIELDS,
        obfuscated=domains.obfuscated_domain(change["domain"]),
        counts=outcome.counts.as_dict(),
    )


async def apply(request: Request, login: SignedIn, form: Form) -> Response:
    """Run the confirmed change for real, then back to the list (Post/Redirect/Get)."""
    ctx: Context = request.state.ctx
    change = await _posted_change(request, login, form)
    if isinstance(change, Response):
        return change
    try:
        await _run(ctx, login, change, dry_run=False)
    except moderation.ModerationError:
        return await _list_page(
            request, login, status_code=422, error=_UNDONE.get(change["action"], "cannot")
        )
    return see_other(f"{PAGE}?{urlencode({'done': change['action'], 'domain': change['domain']})}")


routes = [
    Route(PAGE, domains_page, methods=["GET"]),
    Route(f"{PAGE}/preview", form_endpoint(preview, roles=ADMIN_ROLES), methods=["POST"]),
    Route(f"{PAGE}/apply", form_endpoint(apply, roles=ADMIN_ROLES), methods=["POST"]),
]
