"""Staff write, preview and publish articles in the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse

from campaigns.models import Article
from campaigns.staff.roles import WRITER
from tests.support.factories import make_article, make_topic
from tests.support.personas import staff, verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):  # type: ignore[no-untyped-def]
    user = get_user_model().objects.create_superuser("editor", "editor@example.org", "correct horse battery")
    # force_login (django-axes makes client.login() need a request) plus a passed second factor.
    verified(client, user)
    client.user = user
    return client


@pytest.fixture
def writer_client(client):  # type: ignore[no-untyped-def]
    user = staff("wanda", WRITER)
    verified(client, user)
    client.user = user
    return client


def form_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Mine spill poisons river",
        "slug": "mine-spill",
        "summary": "Three villages lose their water.",
        "body_markdown": "The river is **red**.\n\n<script>alert(1)</script>",
        "lead_image_url": "https://img.example.org/river.jpg",
        "lead_image_alt": "A red river",
        "source": "Ana Quispe, in Cajamarca",
        "language": "en",
        "translation_of": "",
        "status": "draft",
        "published_at_0": "",
        "published_at_1": "",
        # The read-only translations inline still posts its management form.
        "translations-TOTAL_FORMS": "0",
        "translations-INITIAL_FORMS": "0",
        "translations-MIN_NUM_FORMS": "0",
        "translations-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_staff_create_a_draft_then_publish_it_through_the_admin(staff_client, client):
    peru = make_topic("peru")
    response = staff_client.post(reverse("admin:campaigns_article_add"), form_data(topics=[peru.pk]))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""

    article = Article.objects.get(slug="mine-spill")
    assert article.status == Article.Status.DRAFT
    assert article.body_html == "<p>The river is <strong>red</strong>.</p>"
    assert article.author == staff_client.user
    assert list(article.topics.all()) == [peru]
    assert staff_client.get("/articles/mine-spill/").status_code == 404

    response = staff_client.post(
        reverse("admin:campaigns_article_changelist"),
        {"action": "publish_selected", "_selected_action": [article.pk]},
    )
    assert response.status_code == 302

    article.refresh_from_db()
    assert article.status == Article.Status.PUBLISHED
    assert article.published_at is not None
    assert "Mine spill poisons river" in staff_client.get("/articles/mine-spill/").content.decode()


def test_saving_as_published_sets_the_publication_date(staff_client):
    response = staff_client.post(reverse("admin:campaigns_article_add"), form_data(status="published"))
    assert response.status_code == 302
    article = Article.objects.get(slug="mine-spill")
    assert article.published_at is not None


def test_editing_the_body_re_renders_the_html(staff_client):
    article = make_article("mine-spill", body="Old text")
    response = staff_client.post(
        reverse("admin:campaigns_article_change", args=[article.pk]),
        form_data(body_markdown="New *text*", status="published"),
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.body_html == "<p>New <em>text</em></p>"


def test_admin_warns_about_images_without_alt_text(staff_client):
    response = staff_client.post(
        reverse("admin:campaigns_article_add"),
        form_data(lead_image_alt="", body_markdown="![](https://img.example.org/chart.png)"),
        follow=True,
    )
    warnings = [str(m) for m in get_messages(response.wsgi_request)] or [str(m) for m in response.context["messages"]]
    assert any("lead image has no alt text" in w for w in warnings), warnings
    assert any("https://img.example.org/chart.png" in w for w in warnings), warnings
    # A warning, not a refusal: the article is saved.
    assert Article.objects.filter(slug="mine-spill").exists()


def test_a_translation_must_be_in_another_language(staff_client):
    original = make_article("mine-spill", language="en")
    response = staff_client.post(
        reverse("admin:campaigns_article_add"),
        form_data(slug="mine-spill-2", language="en", translation_of=original.pk),
    )
    assert response.status_code == 200
    assert "another language" in response.content.decode()


def test_a_translation_is_linked_to_its_original(staff_client):
    original = make_article("mine-spill", language="en")
    response = staff_client.post(
        reverse("admin:campaigns_article_add"),
        form_data(slug="derrame", title="Derrame", language="es", translation_of=original.pk, status="published"),
    )
    assert response.status_code == 302
    assert list(original.translations.values_list("slug", flat=True)) == ["derrame"]
    html = staff_client.get(reverse("admin:campaigns_article_change", args=[original.pk])).content.decode()
    assert "Derrame" in html  # the translations inline


def test_add_page_prepopulates_the_slug_and_offers_the_live_preview(staff_client):
    html = staff_client.get(reverse("admin:campaigns_article_add")).content.decode()
    assert "prepopulated_fields" in html or "data-prepopulated-fields" in html
    assert f'data-preview-url="{reverse("admin:campaigns_article_render_markdown")}"' in html
    assert "tocsin/admin-article.js" in html


def test_live_preview_renders_sanitised_markdown(staff_client):
    response = staff_client.post(
        reverse("admin:campaigns_article_render_markdown"),
        {"body_markdown": "**Hi** <img src=x onerror=alert(1)>"},
    )
    assert response.status_code == 200
    html = response.json()["html"]
    assert "<strong>Hi</strong>" in html
    assert "onerror" not in html


def test_live_preview_is_for_staff_only(client):
    response = client.post(reverse("admin:campaigns_article_render_markdown"), {"body_markdown": "x"})
    assert response.status_code == 302  # to the admin login


def test_staff_can_preview_a_draft_the_public_cannot_see(staff_client, client):
    article = make_article("secret", title="Secret plan", published=False)
    url = reverse("admin:campaigns_article_preview", args=[article.pk])

    response = staff_client.get(url)

    assert response.status_code == 200
    assert "Secret plan" in response.content.decode()
    assert response["X-Robots-Tag"] == "noindex"
    staff_client.logout()
    assert staff_client.get(url).status_code == 302


def test_changelist_filters_and_searches(staff_client):
    make_article("mine-spill", title="Mine spill")
    make_article("derrame", title="Derrame", summary="Río envenenado.", language="es", published=False)
    changelist = reverse("admin:campaigns_article_changelist")

    assert "Derrame" not in staff_client.get(changelist, {"status__exact": "published"}).content.decode()
    assert "Mine spill" not in staff_client.get(changelist, {"language__exact": "es"}).content.decode()
    assert "Derrame" not in staff_client.get(changelist, {"q": "Mine spill"}).content.decode()
    html = staff_client.get(changelist, {"q": "Mine spill"}).content.decode()
    assert "Mine spill" in html


def test_unpublishing_hides_the_article_again(staff_client):
    article = make_article("mine-spill")
    staff_client.post(
        reverse("admin:campaigns_article_changelist"),
        {"action": "unpublish_selected", "_selected_action": [article.pk]},
    )
    assert staff_client.get("/articles/mine-spill/").status_code == 404


def test_a_writer_can_write_and_publish_an_article(writer_client):
    response = writer_client.post(reverse("admin:campaigns_article_add"), form_data(status="published"))
    assert response.status_code == 302
    assert writer_client.get("/articles/mine-spill/").status_code == 200
