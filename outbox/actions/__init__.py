"""Local actions: each is ONE transaction writing the domain rows, the activity, the local fan-out rows and
one delivery job per target inbox; bus events are published after commit. Errors are `outbox.errors`."""

from outbox.actions.account_deletion import (
    AccountDeletion,
    cancel_account_deletion,
    delete_local_account,
    request_account_deletion,
)
from outbox.actions.blocks import block, unblock
from outbox.actions.domain_blocks import block_domain
from outbox.actions.featured_tags import feature_tag, unfeature_tag
from outbox.actions.follows import (
    authorize_follow_request,
    follow,
    reject_follow_request,
    remove_from_followers,
    unfollow,
)
from outbox.actions.interactions import favourite, reblog, unfavourite, unreblog
from outbox.actions.move import move_account, set_aliases
from outbox.actions.pins import pin_status, pinned_statuses, unpin_status
from outbox.actions.polls import vote
from outbox.actions.profile import update_profile
from outbox.actions.quotes import revoke_quote, set_quote_policy
from outbox.actions.relays import add_relay, list_relays, remove_relay
from outbox.actions.reports import ReportRequest, file_report
from outbox.actions.statuses import delete_status, edit_status, post_status
from outbox.actions.tag_follows import follow_hashtag, unfollow_hashtag

__all__ = [
    "AccountDeletion",
    "cancel_account_deletion",
    "delete_local_account",
    "request_account_deletion",
    "ReportRequest",
    "add_relay",
    "authorize_follow_request",
    "block",
    "block_domain",
    "delete_status",
    "edit_status",
    "favourite",
    "feature_tag",
    "file_report",
    "follow",
    "follow_hashtag",
    "list_relays",
    "move_account",
    "pin_status",
    "pinned_statuses",
    "post_status",
    "reblog",
    "reject_follow_request",
    "revoke_quote",
    "set_quote_policy",
    "remove_from_followers",
    "remove_relay",
    "set_aliases",
    "unblock",
    "unfavourite",
    "unfeature_tag",
    "unfollow",
    "unfollow_hashtag",
    "unpin_status",
    "unreblog",
    "update_profile",
    "vote",
]
