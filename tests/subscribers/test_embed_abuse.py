"""The embedded sign-up form under abuse: cross-site posts, the Origin allow-list, the snippet."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from subscribers.models import Consent
from tests.support.signup import EMBED, nothing_happened, post, valid

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signup_isolation")]


def test_the_embedded_form_posts_cross_site_without_a_csrf_token(lists, django_capture_on_commit_callbacks):
    browser = Client(enforce_csrf_checks=True)
    response = post(
        browser,
        django_capture_on_commit_callbacks,
        valid(wording_version="2026-11", wording_language="en"),
        url=EMBED,
        HTTP_ORIGIN="https://friends.example",
        HTTP_REFERER="https://friends.example/take-action/",
    )
    assert response.status_code == 303
    assert response["Location"].startswith("/signup/thanks/")
    consent = Consent.objects.get()
    assert consent.source == Consent.Source.EMBED
    assert consent.page_url == "https://friends.example/take-action/"
    assert len(mail.outbox) == 1


def test_the_embed_endpoint_has_the_same_rate_limit(client, lists, django_capture_on_commit_callbacks):
    codes = [
        post(client, django_capture_on_commit_callbacks, valid(email=f"p{n}@example.org"), url=EMBED).status_code
        for n in range(6)
    ]
    assert codes == [303] * 5 + [429]


def test_the_embed_honeypot_writes_nothing(client, lists, django_capture_on_commit_callbacks):
    response = post(client, django_capture_on_commit_callbacks, valid(website="bot"), url=EMBED)
    assert response.status_code == 303
    assert nothing_happened()


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"HTTP_ORIGIN": "https://evil.example"}, id="other-origin"),
        pytest.param({"HTTP_REFERER": "https://evil.example/page"}, id="other-referer"),
        pytest.param({}, id="no-origin-at-all"),
        pytest.param({"HTTP_ORIGIN": "null"}, id="opaque-origin"),
    ],
)
def test_the_origin_allow_list_refuses_other_sites(
    client, lists, settings, django_capture_on_commit_callbacks, headers
):
    settings.TOCSIN_EMBED_ALLOWED_ORIGINS = ["https://friends.example"]
    response = post(client, django_capture_on_commit_callbacks, valid(), url=EMBED, **headers)
    assert response.status_code == 403
    assert "cannot sign you up from here" in response.content.decode()
    assert nothing_happened()


def test_the_origin_allow_list_accepts_listed_sites(client, lists, settings, django_capture_on_commit_callbacks):
    settings.TOCSIN_EMBED_ALLOWED_ORIGINS = ["https://friends.example"]
    by_origin = post(
        client, django_capture_on_commit_callbacks, valid(), url=EMBED, HTTP_ORIGIN="https://friends.example"
    )
    by_referer = post(
        client,
        django_capture_on_commit_callbacks,
        valid(email="b@example.org"),
        url=EMBED,
        HTTP_REFERER="https://FRIENDS.example/page?x=1",
    )
    assert (by_origin.status_code, by_referer.status_code) == (303, 303)


def test_bad_input_on_the_embedded_form_is_shown_on_our_page(client, lists, django_capture_on_commit_callbacks):
    response = post(client, django_capture_on_commit_callbacks, valid(email="ana@"), url=EMBED)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'action="/signup/"' in html
    assert "csrfmiddlewaretoken" in html
    assert nothing_happened()


def test_a_forged_wording_version_is_refused(client, lists, django_capture_on_commit_callbacks):
    response = post(client, django_capture_on_commit_callbacks, valid(wording_version="made-up"), url=EMBED)
    assert response.status_code == 400
    assert nothing_happened()


def test_the_embed_page_gives_a_snippet_with_unchecked_public_topics(client, lists):
    response = client.get("/signup/embed/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "action=&quot;http://127.0.0.1:8000/signup/embed/submit/&quot;" in html
    snippet = html.split('<textarea id="snippet"', 1)[1].split("</textarea>", 1)[0]
    assert "&quot;lists&quot; value=&quot;peru&quot;" in snippet
    assert "donors" not in snippet
    assert "checked" not in snippet
    assert "&quot;website&quot;" in snippet
    assert "wording_version" in snippet


def test_the_snippet_from_the_embed_page_signs_people_up(lists, django_capture_on_commit_callbacks):
    """Post exactly the fields the snippet contains, as another site's page would."""
    import html as htmlmod
    import re

    page = Client().get("/signup/embed/").content.decode()
    snippet = htmlmod.unescape(page.split('<textarea id="snippet"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0])
    action = re.search(r'action="([^"]+)"', snippet).group(1)
    hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', snippet))
    data = {**hidden, "email": "ana@example.org", "lists": ["guatemala"], "language": "fr", "website": ""}
    path = urlsplit(action).path
    response = post(Client(enforce_csrf_checks=True), django_capture_on_commit_callbacks, data, url=path)
    assert response.status_code == 303
    consent = Consent.objects.get()
    assert consent.wording_version == hidden["wording_version"]
    assert consent.wording in snippet
    assert consent.lists == ["guatemala"]


def test_the_snippet_can_name_its_page_for_the_consent_record(client, lists, django_capture_on_commit_callbacks):
    post(
        client,
        django_capture_on_commit_callbacks,
        valid(page_url="https://friends.example/take-action/peru"),
        url=EMBED,
        HTTP_REFERER="https://friends.example/",
    )
    post(
        client,
        django_capture_on_commit_callbacks,
        valid(email="b@example.org", page_url="javascript:alert(1)"),
        url=EMBED,
        HTTP_REFERER="https://friends.example/",
    )
    assert Consent.objects.get(email="ana@example.org").page_url == "https://friends.example/take-action/peru"
    assert Consent.objects.get(email="b@example.org").page_url == "https://friends.example/"
