"""Which link of a post gets a preview card, and what a page says about itself (`apub.link_details`)."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from apub.link_details import LinkDetails, card_link, link_details, oembed_details, opted_out_links


def test_the_first_link_that_is_no_hashtag_mention_or_local_page() -> None:
    mastodon_html = (
        '<p><span class="h-card"><a href="https://social.example/@ana" class="u-url mention">@<span>ana</span>'
        '</a></span> <a href="https://social.example/tags/klimaat" class="mention hashtag" rel="tag">#klimaat</a>'
        ' <a href="https://here.example/@bob">a local profile</a>'
        ' <a href="https://social.example/@cas">cas, mentioned</a>'
        ' <a href="mailto:x@example.org">mail</a>'
        ' <a href="https://www.rijksoverheid.example/nieuws">news</a>'
        ' <a href="https://second.example/">second</a></p>'
    )
    assert (
        card_link(mastodon_html, local_host="here.example", mention_urls={"https://social.example/@cas"})
        == "https://www.rijksoverheid.example/nieuws"
    )
    assert card_link("<p>no links at all</p>", local_host="here.example") is None
    quote_fallback = (
        '<p class="quote-inline">RE: <a href="https://social.example/@ana/1">link</a></p><p>Yes</p>'
    )
    assert card_link(quote_fallback, local_host="here.example") is None
    assert card_link(f'<a href="https://x.example/{"a" * 2100}">long</a>', local_host="here.example") is None


def test_links_typed_in_angle_brackets_are_opted_out() -> None:
    text = "Zie <https://a.example/x> en https://b.example/y"
    assert opted_out_links(text) == {"https://a.example/x"}
    html = '<a href="https://a.example/x">a</a> <a href="https://b.example/y">b</a>'
    assert card_link(html, local_host="h.example", opted_out=opted_out_links(text)) == "https://b.example/y"


def test_opengraph_then_twitter_then_html_fallbacks() -> None:
    page = """<html lang="fr-BE"><head><title>Page title</title>
      <meta name="description" content="From meta">
      <meta name="twitter:title" content="Twitter title">
      <meta name="twitter:image" content="https://cdn.example/t.png">
      <link rel="canonical" href="https://elsewhere.example/stolen">
      <meta name="fediverse:creator" content=" @ana@social.example ">
      <link rel="alternate" type="application/json+oembed" href="/oembed?url=x">
    </head></html>"""
    details = link_details("https://site.example/a/b", page)
    assert details.title == "Twitter title"
    assert details.description == "From meta"
    assert details.image_url == "https://cdn.example/t.png"
    assert details.url == "https://site.example/a/b"  # a canonical URL on another host is not believed
    assert details.language == "fr"
    assert details.creator == "@ana@social.example"
    assert details.oembed_url == "https://site.example/oembed?url=x"
    assert details.usable
    assert not link_details("https://site.example/", "<html><body>text</body></html>").usable


def test_a_twitter_player_makes_a_sanitised_video_card() -> None:
    page = """<head><meta property="og:title" content="Clip">
      <meta name="twitter:player" content="https://video.example/embed/1&quot; onload=&quot;alert(1)">
      <meta name="twitter:player:width" content="640"><meta name="twitter:player:height" content="360"></head>"""
    details = link_details("https://video.example/1", page)
    assert details.card_type == "video" and (details.width, details.height) == (640, 360)
    [iframe] = LexborHTMLParser(details.html).css("iframe")
    assert set(iframe.attributes) <= {"src", "width", "height", "allowfullscreen", "frameborder", "scrolling"}
    assert (
        iframe.attributes["src"] == 'https://video.example/embed/1" onload="alert(1)'
    )  # a value, nothing more


def test_oembed_answers_take_precedence_except_rich() -> None:
    page = LinkDetails(url="https://site.example/p", title="Page", image_url="https://site.example/i.png")
    endpoint = "https://site.example/oembed"
    video = oembed_details(
        page,
        endpoint,
        {
            "type": "video",
            "title": "A video",
            "html": '<iframe src="https://site.example/e/1" width="480" height="270"></iframe><script>x()</script>',
            "width": 480,
            "height": 270,
            "thumbnail_url": "/thumb.jpg",
            "author_name": "Ana",
            "author_url": "/@ana",
        },
    )
    assert video.card_type == "video" and "<script" not in video.html and "<iframe" in video.html
    assert (video.title, video.image_url, video.author_url) == (
        "A video",
        "https://site.example/thumb.jpg",
        "https://site.example/@ana",
    )
    photo = oembed_details(page, endpoint, {"type": "photo", "url": "https://cdn.example/p.jpg", "width": 9})
    assert (photo.card_type, photo.embed_url, photo.width) == ("photo", "https://cdn.example/p.jpg", 9)
    assert oembed_details(page, endpoint, {"type": "rich", "html": "<script></script>"}) == page
    assert oembed_details(page, endpoint, ["not", "an", "object"]) == page
    assert oembed_details(page, endpoint, {"type": "photo"}) == page  # a photo needs its URL
