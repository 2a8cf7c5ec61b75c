"""config/middleware.py: text no field may hold is a 400 before any view sees it (issue 10)."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse

from config.middleware import UnsafeTextMiddleware
from subscribers.models import Consent, MailingList, Subscriber
from tests.support.personas import staff, verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def peru():  # type: ignore[no-untyped-def]
    return MailingList.objects.create(slug="peru", name="Peru", public=True)


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):  # type: ignore[no-untyped-def]
    settings.TOCSIN_SIGNUP_RATE_LIMIT = False


def signup(**change):  # type: ignore[no-untyped-def]
    return {"email": "ana@example.org", "name": "Ana", "lists": ["peru"], "language": "en", **change}


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Ana\x00"},
        {"name": "Ana\x1b[31m"},
        {"lists": ["pe\x00ru"]},
        {"email": "ana@example.org\x07"},
        {"website": "\x1b[31m"},
        {"language": "en\x85"},
    ],
)
def test_a_form_field_with_nul_or_a_control_character_gets_a_clear_400_page(client, peru, change):
    client.raise_request_exception = False
    response = client.post("/signup/", signup(**change))

    assert response.status_code == 400
    page = response.content.decode()
    assert "Some of what you sent cannot be accepted" in page
    assert "type the text again" in page
    assert "script-src" in response["Content-Security-Policy"]
    assert not Subscriber.objects.exists()
    assert not Consent.objects.exists()


def test_a_forged_embed_post_with_nul_in_its_page_url_is_refused_whole(client, peru):
    # A browser cannot send this from the snippet: HTML parsing turns U+0000 into U+FFFD.
    client.raise_request_exception = False
    response = client.post("/signup/embed/submit/", signup(page_url="https://friends.example/\x00"))
    assert response.status_code == 400
    assert not Subscriber.objects.exists()


def test_the_page_speaks_the_visitors_language(client, peru):
    response = client.post("/signup/", signup(name="Ana\x00"), HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    assert 'lang="es"' in response.content.decode()
    assert "Must not contain NUL characters." not in response.content.decode()


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/articles/?page=%00", {}),
        ("/articles/%00/", {}),
        ("/signup/", {"HTTP_USER_AGENT": "bot\x00"}),
        ("/signup/", {"HTTP_REFERER": "https://example.org/\x00"}),
    ],
)
def test_nul_in_the_query_the_path_or_a_header_is_a_400(client, path, extra):
    client.raise_request_exception = False
    assert client.get(path, **extra).status_code == 400


def test_a_sign_up_sent_with_nul_in_its_user_agent_stores_nothing(client, peru):
    client.raise_request_exception = False
    response = client.post("/signup/", signup(), HTTP_USER_AGENT="Mozilla\x00")
    assert response.status_code == 400
    assert not Consent.objects.exists()


def test_a_session_cookie_with_nul_is_a_400_not_a_500(client):
    client.raise_request_exception = False
    client.cookies["sessionid"] = "abcdefgh\x00ijklmnop"
    assert client.get("/admin/").status_code == 400


def test_an_admin_search_for_nul_is_a_400_not_a_500(client):
    verified(client, staff("boss", "admin"))
    client.raise_request_exception = False
    assert client.get("/admin/subscribers/subscriber/?q=%00").status_code == 400


def test_plain_accents_emoji_and_line_breaks_pass(client, peru):
    response = client.post("/signup/", signup(name="Zoë Núñez 🌱"))
    assert response.status_code in (302, 303)
    assert Subscriber.objects.get().name == "Zoë Núñez 🌱"


@pytest.mark.parametrize(
    ("path", "reaches_the_view"),
    [("/anymail/postmark/tracking/", True), ("/donations/stripe/webhook/", True), ("/signup/", False)],
)
def test_provider_webhooks_are_never_refused_by_the_guard(rf, path, reaches_the_view):
    # Providers retry a 4xx for days: these handlers clean text themselves and answer 2xx.
    reached: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        reached.append(request.path)
        return HttpResponse("ok")

    request = rf.post(path, '{"Name": "x\\u0000", "Tag": "\\ud800"}', content_type="application/json")
    response = UnsafeTextMiddleware(view)(request)

    assert (reached == [path]) is reaches_the_view
    assert response.status_code == (200 if reaches_the_view else 400)
