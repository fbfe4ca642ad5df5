"""Reading quote posts and quote policies as Mastodon, Misskey and Fedibird write them, and checking a stamp."""

from __future__ import annotations

from apub.quotes import authorization_matches, interaction_policy, quote_policy_of, quoted_uri_of

QUOTED = "https://a.example/users/alice/statuses/1"


def test_every_form_of_a_quote_is_read_and_the_newest_wins() -> None:
    assert quoted_uri_of({"quote": QUOTED, "quoteUri": "https://x.example/old"}) == QUOTED
    assert quoted_uri_of({"quoteUri": QUOTED}) == QUOTED
    assert quoted_uri_of({"quoteUrl": QUOTED}) == QUOTED
    assert quoted_uri_of({"_misskey_quote": QUOTED}) == QUOTED
    assert quoted_uri_of({"quote": {"id": QUOTED, "type": "Note"}}) == QUOTED
    assert quoted_uri_of({"quote": "javascript:alert(1)", "quoteUrl": 3}) is None
    assert quoted_uri_of({"content": "no quote"}) is None


def test_can_quote_is_read_as_mastodon_reads_it() -> None:
    followers = "https://a.example/users/alice/followers"

    def policy(rule: object) -> str | None:
        return quote_policy_of({"interactionPolicy": {"canQuote": rule}}, followers)

    assert policy({"automaticApproval": "https://www.w3.org/ns/activitystreams#Public"}) == "public"
    assert policy({"manualApproval": ["as:Public"]}) == "public"
    assert policy({"automaticApproval": [followers, "https://a.example/users/alice"]}) == "followers"
    assert policy({"automaticApproval": ["https://a.example/users/alice"]}) == "nobody"
    assert quote_policy_of({}, followers) is None
    # Ours reads back as what it says.
    for mine in ("public", "followers", "nobody"):
        document = {"interactionPolicy": interaction_policy(mine, "https://a.example/users/alice", followers)}
        assert quote_policy_of(document, followers) == mine


def test_a_stamp_must_name_this_quote_this_target_and_come_from_the_quoted_author() -> None:
    stamp = {
        "id": "https://a.example/users/alice/quote_authorizations/9",
        "type": "QuoteAuthorization",
        "attributedTo": "https://a.example/users/alice",
        "interactingObject": "https://b.example/users/bob/statuses/2",
        "interactionTarget": QUOTED,
    }
    facts = {
        "quote_uri": "https://b.example/users/bob/statuses/2",
        "quoted_uri": QUOTED,
        "quoted_author_uri": "https://a.example/users/alice",
    }
    assert authorization_matches(stamp, **facts)
    assert not authorization_matches({**stamp, "interactingObject": "https://b.example/other"}, **facts)
    assert not authorization_matches({**stamp, "interactionTarget": "https://a.example/other"}, **facts)
    assert not authorization_matches({**stamp, "attributedTo": "https://a.example/users/eve"}, **facts)
    assert not authorization_matches({**stamp, "id": "https://evil.example/stamps/1"}, **facts)
    assert not authorization_matches({**stamp, "type": "Note"}, **facts)


def test_the_inline_fallback_of_a_quote_keeps_its_class_for_apps_to_hide() -> None:
    from apub.html import sanitize_html

    fallback = '<p class="quote-inline evil">RE: <a href="https://a.example/1">https://a.example/1</a></p>'
    assert sanitize_html(fallback).startswith('<p class="quote-inline">RE: ')
    assert "evil" not in sanitize_html('<p class="evil">x</p>')
