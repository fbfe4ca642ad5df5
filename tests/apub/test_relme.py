"""rel="me" links read from pages as browsers would read them (`apub.relme`)."""

from __future__ import annotations

from apub.relme import rel_me_links


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
