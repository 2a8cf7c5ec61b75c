"""The public site: archive, article pages, topics, bulletins, in the reader's language."""

from __future__ import annotations

import re

import pytest
from django.urls import NoReverseMatch, reverse

from campaigns.models import Article, Campaign
from tests.support.factories import make_article, make_sent_campaign, make_topic

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site_url(settings):  # type: ignore[no-untyped-def]
    settings.SITE_URL = "https://news.example.org"


def meta(html: str, key: str) -> str | None:
    """The content of <meta property|name=key>, or None."""
    match = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)"', html)
    return match.group(1) if match else None


# --- archive -------------------------------------------------------------------


def test_archive_lists_published_articles_newest_first_and_hides_drafts(client):
    make_article("older-story", title="Older story", days_ago=3)
    make_article("newer-story", title="Newer story", days_ago=1)
    make_article("secret-draft", title="Secret draft", published=False)

    html = client.get("/articles/").content.decode()

    assert "Newer story" in html and "Older story" in html
    assert html.index("Newer story") < html.index("Older story")
    assert "Secret draft" not in html


def test_archive_is_paginated(client):
    for number in range(25):
        make_article(f"story-{number}", title=f"Story number {number}", days_ago=number)

    first = client.get("/articles/").content.decode()
    second = client.get("/articles/?page=2").content.decode()

    assert "Story number 0<" in first and "Story number 24<" not in first
    assert "Story number 24<" in second
    assert 'rel="next"' in first


def test_archive_survives_a_junk_page_number(client):
    make_article()
    assert client.get("/articles/?page=abc").status_code == 200
    assert client.get("/articles/?page=9999").status_code == 200


def test_archive_with_30_articles_uses_a_fixed_number_of_queries(client, django_assert_num_queries):
    topics = [make_topic("peru"), make_topic("guatemala")]
    for number in range(30):
        original = make_article(f"story-{number}", topics=topics, days_ago=number)
        make_article(f"historia-{number}", language="es", translation_of=original, days_ago=number)

    # count + page + translations + topics, whatever the number of articles.
    with django_assert_num_queries(4):
        response = client.get("/articles/", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    assert response.content.decode().count('class="card"') == 20


def test_archive_shows_the_readers_language_version_of_each_article(client):
    original = make_article("mine-spill", title="Mine spill poisons river")
    make_article("derrame-minero", title="Derrame minero envenena el río", language="es", translation_of=original)
    make_article("english-only", title="English only story")

    spanish = client.get("/articles/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    english = client.get("/articles/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Derrame minero envenena el río" in spanish
    assert "Mine spill poisons river" not in spanish
    assert "English only story" in spanish  # no translation: the original
    assert "Mine spill poisons river" in english
    assert "Derrame minero" not in english


def test_archive_skips_an_unpublished_translation(client):
    original = make_article("mine-spill", title="Mine spill poisons river")
    make_article("derrame", title="Borrador en español", language="es", translation_of=original, published=False)

    html = client.get("/articles/", HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert "Mine spill poisons river" in html
    assert "Borrador en español" not in html


def test_site_chrome_follows_the_readers_language(client):
    html = client.get("/articles/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="fr">' in html


# --- article page ----------------------------------------------------------------


def test_published_article_page_shows_its_content(client):
    make_article("mine-spill", title="Mine spill", body="The river is **red**.", source="Reported by Ana")

    html = client.get("/articles/mine-spill/").content.decode()

    assert "<h1>Mine spill</h1>" in html
    assert "<strong>red</strong>" in html
    assert "Reported by Ana" in html


def test_draft_article_is_404_to_the_public(client):
    make_article("secret", published=False)
    response = client.get("/articles/secret/")
    assert response.status_code == 404


def test_missing_article_gets_a_friendly_404_page(client):
    response = client.get("/articles/no-such-thing/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "We could not find that page" in html
    assert 'href="/articles/"' in html
    assert 'type="application/atom+xml"' in html


def test_article_page_has_social_card_meta(client):
    make_article(
        "mine-spill",
        title="Mine spill poisons river",
        summary="Three villages lose their water.",
        lead_image_url="https://img.example.org/river.jpg",
        lead_image_alt="A red river",
    )

    html = client.get("/articles/mine-spill/").content.decode()

    assert meta(html, "og:type") == "article"
    assert meta(html, "og:title") == "Mine spill poisons river"
    assert meta(html, "og:description") == "Three villages lose their water."
    assert meta(html, "og:image") == "https://img.example.org/river.jpg"
    assert meta(html, "og:image:alt") == "A red river"
    assert meta(html, "og:url") == "https://news.example.org/articles/mine-spill/"
    assert meta(html, "twitter:card") == "summary_large_image"
    assert meta(html, "twitter:title") == "Mine spill poisons river"
    assert meta(html, "twitter:image") == "https://img.example.org/river.jpg"
    assert '<link rel="canonical" href="https://news.example.org/articles/mine-spill/">' in html


def test_article_without_summary_describes_itself_with_its_body(client):
    make_article("no-summary", summary="", body="First paragraph of the story.")
    html = client.get("/articles/no-summary/").content.decode()
    assert meta(html, "og:description") == "First paragraph of the story."
    assert meta(html, "twitter:card") == "summary"


def test_article_page_escapes_titles_in_meta_tags(client):
    make_article("quotes", title='He said "stop" <now>')
    html = client.get("/articles/quotes/").content.decode()
    assert meta(html, "og:title") == "He said &quot;stop&quot; &lt;now&gt;"


def test_article_page_links_its_published_translations_with_hreflang(client):
    original = make_article("mine-spill", title="Mine spill")
    make_article("derrame", title="Derrame", language="es", translation_of=original)
    make_article("deversement", title="Déversement", language="fr", translation_of=original, published=False)

    html = client.get("/articles/mine-spill/").content.decode()

    assert '<link rel="alternate" hreflang="en" href="https://news.example.org/articles/mine-spill/">' in html
    assert '<link rel="alternate" hreflang="es" href="https://news.example.org/articles/derrame/">' in html
    assert '<link rel="alternate" hreflang="x-default" href="https://news.example.org/articles/mine-spill/">' in html
    assert 'href="/articles/derrame/" hreflang="es"' in html
    assert "/articles/deversement/" not in html  # a draft translation stays hidden


def test_translation_page_links_back_to_the_original_and_siblings(client):
    original = make_article("mine-spill", title="Mine spill")
    make_article("derrame", title="Derrame", language="es", translation_of=original)
    make_article("deversement", title="Déversement", language="fr", translation_of=original)

    html = client.get("/articles/derrame/").content.decode()

    assert 'href="/articles/mine-spill/" hreflang="en"' in html
    assert 'href="/articles/deversement/" hreflang="fr"' in html
    assert '<article class="article" lang="es">' in html


def test_article_page_points_a_reader_to_the_version_in_their_language(client):
    original = make_article("mine-spill", title="Mine spill")
    make_article("derrame", title="Derrame", language="es", translation_of=original)

    spanish_reader = client.get("/articles/mine-spill/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    english_reader = client.get("/articles/mine-spill/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<p class="notice" lang="es"><a href="/articles/derrame/"' in spanish_reader
    assert 'class="notice"' not in english_reader


def test_article_page_uses_a_fixed_number_of_queries(client, django_assert_num_queries):
    topics = [make_topic("peru"), make_topic("chile")]
    original = make_article("mine-spill", topics=topics)
    for language in ("es", "fr"):
        make_article(f"spill-{language}", language=language, translation_of=original)

    with django_assert_num_queries(3):
        assert client.get("/articles/mine-spill/").status_code == 200


# --- topics ----------------------------------------------------------------------


def test_topic_page_lists_the_published_articles_on_that_topic(client):
    peru = make_topic("peru", name="Peru")
    chile = make_topic("chile", name="Chile")
    make_article("in-peru", title="Story in Peru", topics=[peru])
    make_article("in-chile", title="Story in Chile", topics=[chile])
    make_article("peru-draft", title="Draft in Peru", topics=[peru], published=False)

    html = client.get("/topics/peru/").content.decode()

    assert "<h1>Peru</h1>" in html
    assert "Story in Peru" in html
    assert "Story in Chile" not in html
    assert "Draft in Peru" not in html


def test_topic_page_shows_the_readers_language_version(client):
    peru = make_topic("peru")
    original = make_article("mine-spill", title="Mine spill", topics=[peru])
    make_article("derrame", title="Derrame minero", language="es", translation_of=original)

    html = client.get("/topics/peru/", HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert "Derrame minero" in html
    assert html.count('class="card"') == 1


def test_private_list_has_no_topic_page(client):
    make_topic("staff-only", public=False)
    assert client.get("/topics/staff-only/").status_code == 404


def test_topic_page_uses_a_fixed_number_of_queries(client, django_assert_num_queries):
    peru = make_topic("peru")
    for number in range(15):
        make_article(f"story-{number}", topics=[peru])
    with django_assert_num_queries(5):
        assert client.get("/topics/peru/").status_code == 200


def test_topic_index_lists_public_topics_only(client):
    make_topic("peru", name="Peru")
    make_topic("internal", name="Internal", public=False)
    html = client.get("/topics/").content.decode()
    assert "Peru" in html and "Internal" not in html


# --- home ---------------------------------------------------------------------------


def test_home_page_shows_latest_articles_topics_and_a_signup_call(client):
    peru = make_topic("peru", name="Peru")
    make_article("mine-spill", title="Mine spill", topics=[peru])
    make_article("draft", title="Draft story", published=False)

    html = client.get("/").content.decode()

    assert "Mine spill" in html
    assert "Draft story" not in html
    assert 'href="/topics/peru/"' in html
    assert 'class="button button-large" href="/signup/"' in html


def test_home_page_uses_a_fixed_number_of_queries(client, django_assert_num_queries):
    peru = make_topic("peru")
    for number in range(10):
        original = make_article(f"story-{number}", topics=[peru])
        make_article(f"historia-{number}", language="es", translation_of=original)
    make_sent_campaign("Bulletin 1")
    with django_assert_num_queries(6):
        assert client.get("/").status_code == 200


# --- bulletins ------------------------------------------------------------------------


def test_bulletin_archive_lists_sent_bulletins_and_the_alerts_staff_chose_to_show(client):
    make_sent_campaign("Bulletin of March")
    make_sent_campaign("Urgent: state of emergency", kind=Campaign.Kind.ALERT)
    Campaign.objects.filter(subject="Urgent: state of emergency").update(public_archive=True)
    make_sent_campaign("Defender detained", kind=Campaign.Kind.ALERT)
    make_sent_campaign("Please donate", kind=Campaign.Kind.APPEAL)
    make_sent_campaign("Draft bulletin", status=Campaign.Status.DRAFT)
    make_sent_campaign("Half sent", status=Campaign.Status.SENDING)

    html = client.get("/bulletins/").content.decode()

    assert "Bulletin of March" in html
    assert "Urgent: state of emergency" in html
    assert "Defender detained" not in html
    assert "Please donate" not in html
    assert "Draft bulletin" not in html
    assert "Half sent" not in html


def test_bulletin_archive_links_each_web_version(client):
    campaign = make_sent_campaign("Bulletin of March")
    html = client.get("/bulletins/").content.decode()
    try:
        url = reverse("campaigns:web_version", args=[campaign.attribution_code])
    except NoReverseMatch:
        pytest.skip("the web version view has not landed yet")  # H5a's view; the page still renders
    assert f'href="{url}"' in html


def test_bulletin_archive_shows_the_subject_in_the_readers_language(client):
    make_sent_campaign("March bulletin", translations={"es": "Boletín de marzo"})
    html = client.get("/bulletins/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Boletín de marzo" in html
    assert "March bulletin" not in html


def test_bulletin_archive_uses_a_fixed_number_of_queries(client, django_assert_num_queries):
    for number in range(20):
        make_sent_campaign(f"Bulletin {number}", translations={"es": f"Boletín {number}"})
    with django_assert_num_queries(3):
        assert client.get("/bulletins/").status_code == 200


def test_drafts_are_not_listed_anywhere_public(client):
    make_topic("peru")
    article = make_article("secret", title="Secret plan", published=False)
    article.topics.set([make_topic("chile")])
    for url in ("/", "/articles/", "/topics/chile/", "/feed/"):
        assert "Secret plan" not in client.get(url).content.decode(), url
    assert Article.objects.count() == 1
