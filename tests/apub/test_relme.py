"""rel="me" links read from pages as browsers would read them (`apub.relme`)."""

from __future__ import annotations

from apub.relme import rel_me_links, sole_link


def test_anchors_and_links_with_me_among_their_rels() -> None:
    page = """<!doctype html><html><head>
      <link rel="stylesheet" href="/site.css">
      <LINK REL="Me Authn" href=" https://social.example/@ana ">
    </head><body>
      <a href="https://social.example/@ana" rel="noopener me">Ana</a>
      <a href="https://elsewhere.example/" rel="meh">not me</a>
      <a rel="me">no href</a>
      <div rel="me" href="https://div.example/">not a link element</div>
      <link rel="me" href="https://self-closing.example/" />
    </body></html>"""
    assert rel_me_links(page) == [
        "https://social.example/@ana",
        "https://social.example/@ana",
        "https://self-closing.example/",
    ]


def test_broken_markup_is_read_not_refused() -> None:
    assert rel_me_links("<p><a rel=me href=https://x.example/@a>unclosed <b>tags") == ["https://x.example/@a"]
    assert rel_me_links("<<<>>> not html at all") == []


def test_sole_link_is_a_fragment_of_one_link_whose_text_is_its_href() -> None:
    mastodon_value = (
        '<a href="https://ana.example/about" target="_blank" rel="nofollow noopener me" translate="no">'
        '<span class="invisible">https://</span><span class="">ana.example/about</span>'
        '<span class="invisible"></span></a>'
    )
    assert sole_link(mastodon_value) == "https://ana.example/about"
    assert sole_link(" <a href='https://x.example/'>https://x.example/</a> ") == "https://x.example/"
    assert sole_link('<a href="https://x.example/">my site</a>') is None  # the text must be the URL
    assert sole_link('see <a href="https://x.example/">https://x.example/</a>') is None
    assert (
        sole_link('<a href="https://a.example/">https://a.example/</a><a href="https://b.example/">b</a>')
        is None
    )
    assert sole_link("https://x.example/") is None  # plain text is no link in a remote field
