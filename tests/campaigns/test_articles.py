"""Markdown rendering and sanitising: what staff write cannot run code in a reader's browser."""

from __future__ import annotations

import pytest

from campaigns.content.articles import images_missing_alt, markdown_to_html, publish_article, save_article
from campaigns.models import Article


@pytest.fixture(autouse=True)
def _site_url(settings):  # type: ignore[no-untyped-def]
    settings.SITE_URL = "https://news.example.org"


def test_it_removes_script_tags_and_their_content():
    html = markdown_to_html("Hello\n\n<script>alert('owned')</script>\n\nBye")
    assert "<script" not in html
    assert "alert" not in html
    assert "Hello" in html and "Bye" in html


def test_it_removes_style_tags_and_style_attributes():
    html = markdown_to_html('<style>body{display:none}</style><p style="color:red">Text</p>')
    assert "<style" not in html
    assert "display:none" not in html
    assert "style=" not in html
    assert "Text" in html


def test_it_removes_event_handler_attributes():
    html = markdown_to_html('<img src="https://img.example.org/a.png" alt="A" onerror="alert(1)">')
    assert "onerror" not in html
    assert "alert" not in html
    assert 'src="https://img.example.org/a.png"' in html


def test_it_removes_event_handlers_on_any_tag():
    html = markdown_to_html('<p onclick="steal()" onmouseover="steal()">Hi</p>')
    assert "onclick" not in html and "onmouseover" not in html and "steal" not in html


@pytest.mark.parametrize(
    "markdown",
    [
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">click</a>',
        '<a href="JaVaScRiPt:alert(1)">click</a>',
        '<a href="  javascript:alert(1)">click</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
        '<a href="vbscript:msgbox(1)">click</a>',
    ],
)
def test_it_removes_dangerous_link_targets(markdown):
    html = markdown_to_html(markdown).lower()
    assert "javascript:" not in html
    assert "data:" not in html
    assert "vbscript:" not in html
    assert "click" in html


def test_it_removes_iframes_forms_and_objects():
    html = markdown_to_html(
        '<iframe src="https://evil.example"></iframe><form action="https://evil.example"><input name="x"></form>'
        '<object data="x.swf"></object>'
    )
    assert "<iframe" not in html and "<form" not in html and "<input" not in html and "<object" not in html


def test_it_keeps_links_with_noopener():
    html = markdown_to_html("Read [the report](https://ngo.example.org/report).")
    assert '<a href="https://ngo.example.org/report" rel="noopener">the report</a>' in html


def test_it_makes_site_relative_links_absolute_so_they_work_in_email_and_feeds():
    html = markdown_to_html("See [the archive](/articles/) and ![map](/media/map.png)")
    assert 'href="https://news.example.org/articles/"' in html
    assert 'src="https://news.example.org/media/map.png"' in html


def test_it_keeps_footnote_anchors_in_page():
    html = markdown_to_html("Claim[^1]\n\n[^1]: Source")
    assert 'href="#fn:1"' in html


def test_it_keeps_images_with_their_alt_text():
    html = markdown_to_html("![Protesters outside the ministry](https://img.example.org/p.jpg)")
    assert '<img alt="Protesters outside the ministry" src="https://img.example.org/p.jpg">' in html


def test_it_drops_images_with_script_urls():
    html = markdown_to_html('<img src="javascript:alert(1)" alt="x">')
    assert "javascript" not in html


def test_it_keeps_headings_lists_quotes_and_tables():
    html = markdown_to_html(
        "## Heading\n\n- one\n- two\n\n1. first\n\n> quoted\n\n| Place | Deaths |\n|---|---|\n| Lima | 3 |\n"
    )
    for tag in ("<h2>", "<ul>", "<li>", "<ol>", "<blockquote>", "<table>", "<th>", "<td>"):
        assert tag in html


def test_empty_markdown_renders_to_nothing():
    assert markdown_to_html("") == ""
    assert markdown_to_html("   \n") == ""


def test_images_missing_alt_lists_images_without_a_description():
    html = markdown_to_html(
        "![](https://img.example.org/a.png) ![ok](https://img.example.org/b.png) "
        '<img src="https://img.example.org/c.png" alt="  ">'
    )
    assert images_missing_alt(html) == ["https://img.example.org/a.png", "https://img.example.org/c.png"]


@pytest.mark.django_db
def test_saving_an_article_stores_sanitised_html():
    article = Article(title="T", slug="t", body_markdown="**Bold** <script>x()</script>")
    save_article(article=article)
    article.refresh_from_db()
    assert article.body_html == "<p><strong>Bold</strong> </p>"
    assert article.status == Article.Status.DRAFT
    assert article.published_at is None


@pytest.mark.django_db
def test_publishing_sets_the_publication_date_once():
    article = save_article(article=Article(title="T", slug="t", body_markdown="Hi"))
    publish_article(article=article)
    first = article.published_at
    assert article.status == Article.Status.PUBLISHED
    assert first is not None
    publish_article(article=article)
    assert article.published_at == first
