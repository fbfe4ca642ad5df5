"""The server's rules on `/web/admin/settings` (admins only): add one, reword it, move it up or down, remove
it — each form posts here and calls `moderation.rules` (audited, as `plein rule …`), then back to the page's
rules; a refused text answers 422 with the page and changes nothing."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import moderation
from storage.context import Context
from storage.ids import parse_id
from web.administration.settings import PAGE, settings_page_answer
from web.moderation.common import actor_of, refused
from web.staff.access import ADMIN_ROLES, posted_by_staff, see_other

logger = logging.getLogger("plein.web")
RULES = f"{PAGE}/rules"


def _back(done: str) -> Response:
    return see_other(f"{PAGE}?{urlencode({'done': done})}#rules")


async def change_rules(request: Request) -> Response:
    """One change to the rules: `action` add (no rule id), edit, up, down or remove (of the rule in the path)."""
    ctx: Context = request.state.ctx
    posted = await posted_by_staff(request, ADMIN_ROLES)
    if isinstance(posted, Response):
        return posted
    login, form = posted
    actor = actor_of(login)
    action = form.get("action")
    rule_id = parse_id(request.path_params.get("rule_id", ""))
    try:
        if rule_id is None and action == "add":
            await moderation.add_rule(ctx, form.get("text"), hint=form.get("hint"), actor=actor)
        elif rule_id is not None and action == "edit":
            await moderation.edit_rule(ctx, rule_id, form.get("text"), hint=form.get("hint"), actor=actor)
        elif rule_id is not None and action in ("up", "down"):
            await moderation.move_rule(ctx, rule_id, up=action == "up", actor=actor)
        elif rule_id is not None and action == "remove":
            await moderation.remove_rule(ctx, rule_id, actor=actor)
        else:
            logger.info("rule change by %s refused: unknown action %r", actor, action[:32])
            return await settings_page_answer(request, status_code=422, rule_problem="unknown_action")
    except moderation.InvalidSetting as error:
        logger.info("rule change by %s refused: %s", actor, error)
        return await settings_page_answer(
            request, status_code=422, rule_problem=error.problem, rule_field=error.field
        )
    except moderation.ModerationError as error:
        return await refused(request, error)
    return _back(f"rule_{action}")


routes = [
    Route(RULES, change_rules, methods=["POST"]),
    Route(f"{RULES}/{{rule_id}}", change_rules, methods=["POST"]),
]
