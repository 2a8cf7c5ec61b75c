"""The Atom feed, and its autodiscovery link on every public page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tests.support.factories import make_article, make_topic

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(autouse=True)
def _site_url(settings):  # type: ignore[no-untyped-def]
    settings.SITE_URL = "https://news.example.org"


def parse_feed(client, url: str = "/feed/") -> ET.Element:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    return ET.fromstring(response.content)  # noqa: S314  (our own feed, not untrusted input)


def test_feed_is_valid_atom_with_published_articles_only(client):
    make_article("mine-spill", title="Mine spill", summary="River poisoned.", source="Ana Quispe")
    make_article("secret", title="Secret draft", published=False)

    feed = parse_feed(client)

    assert feed.tag == f"{ATOM}feed"
    # RFC 4287: a feed has exactly one id, title and updated.
    for required in ("id", "title", "updated"):
        assert len(feed.findall(f"{ATOM}{required}")) == 1, required
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == "https://news.example.org/feed/"
    entries = feed.findall(f"{ATOM}entry")
    assert [entry.findtext(f"{ATOM}title") for entry in entries] == ["Mine spill"]
    entry = entries[0]
    for required in ("id", "title", "updated"):
        assert entry.find(f"{ATOM}{required}") is not None, required
    assert entry.find(f"{ATOM}link").get("href") == "https://news.example.org/articles/mine-spill/"
    assert entry.findtext(f"{ATOM}summary") == "River poisoned."
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "Ana Quispe"


def test_feed_entries_carry_the_full_sanitised_content(client):
    make_article(
        "mine-spill",
        body="The river is **red**. ![Red river](https://img.example.org/r.jpg)\n\n<script>alert(1)</script>",
    )

    content = parse_feed(client).find(f"{ATOM}entry/{ATOM}content")

    assert content.get("type") == "html"
    assert "<strong>red</strong>" in content.text
    assert '<img alt="Red river" src="https://img.example.org/r.jpg">' in content.text
    assert "<script" not in content.text


def test_feed_entries_list_topics_as_categories(client):
    peru = make_topic("peru", name="Peru")
    make_article("mine-spill", topics=[peru, make_topic("internal", public=False)])

    categories = parse_feed(client).findall(f"{ATOM}entry/{ATOM}category")

    assert [category.get("term") for category in categories] == ["Peru"]


def test_feed_entry_ids_survive_a_slug_change(client):
    article = make_article("old-slug")
    first_id = parse_feed(client).findtext(f"{ATOM}entry/{ATOM}id")
    article.slug = "new-slug"
    article.save()
    assert parse_feed(client).findtext(f"{ATOM}entry/{ATOM}id") == first_id


def test_language_feed_has_only_that_language(client):
    original = make_article("mine-spill", title="Mine spill")
    make_article("derrame", title="Derrame", language="es", translation_of=original)

    feed = parse_feed(client, "/feed/es/")

    assert [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")] == ["Derrame"]
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "es"
    assert client.get("/feed/xx/").status_code == 404


def test_feed_uses_a_fixed_number_of_queries(client, django_assert_num_queries):
    peru = make_topic("peru")
    for number in range(20):
        make_article(f"story-{number}", topics=[peru])
    with django_assert_num_queries(2):
        client.get("/feed/")


FEED_LINK = re.compile(r'<link rel="alternate" type="application/atom\+xml" title="[^"]*" href="/feed/">')


def test_every_public_page_links_the_feed_in_its_head(client):
    peru = make_topic("peru")
    make_article("mine-spill", topics=[peru])
    pages = ["/", "/articles/", "/articles/mine-spill/", "/topics/", "/topics/peru/", "/bulletins/", "/signup/"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        head = html[: html.index("</head>")]
        assert len(FEED_LINK.findall(head)) == 1, url
