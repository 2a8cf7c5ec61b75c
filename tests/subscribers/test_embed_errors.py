"""The embedded form posts from another site and gets Tocsin's page back: no silent refusals.

Either the sign-up goes through with an honest consent record, or the page
the person lands on says what went wrong and keeps what they typed.
"""

from __future__ import annotations

import html as htmlmod
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext_lazy

from subscribers import consent_text
from subscribers.forms import EmbedSignupForm
from subscribers.models import Consent, MailingList, Subscriber

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signup_isolation")]

EMBED = "/signup/embed/submit/"


@pytest.fixture
def lists():
    MailingList.objects.create(slug="peru", name="Peru", position=1)
    MailingList.objects.create(slug="guatemala", name="Guatemala", position=2)


def snippet_post(**fields):
    """What the snippet from /signup/embed/ sends, filled in by a person."""
    return {
        "email": "ana@example.org",
        "name": "Ana María",
        "lists": ["guatemala"],
        "language": "es",
        "website": "",
        "wording_version": consent_text.CURRENT_VERSION,
        "wording_language": "es",
        "page_url": "",
        **fields,
    }


def post(client, capture, data, **headers):
    headers.setdefault("HTTP_ORIGIN", "https://friends.example")
    headers.setdefault("HTTP_REFERER", "https://friends.example/")
    with capture(execute=True):
        return client.post(EMBED, data, **headers)


def alert_of(page: str) -> str:
    match = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', page, re.S)
    assert match, "no error shown above the form"
    return htmlmod.unescape(match.group(1))


def nothing_written() -> bool:
    return not Subscriber.objects.exists() and not Consent.objects.exists() and mail.outbox == []


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"wording_version": "2024-01"}, id="unknown-version"),
        pytest.param({"wording_version": "9" * 100}, id="overlong-version"),
        pytest.param({"wording_language": "de"}, id="unknown-language"),
        pytest.param({"wording_language": "x" * 300}, id="overlong-language"),
    ],
)
@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_an_unknown_wording_is_said_on_the_page_and_what_was_typed_is_kept(
    lists, django_capture_on_commit_callbacks, fields, language
):
    browser = Client(enforce_csrf_checks=True)
    response = post(browser, django_capture_on_commit_callbacks, snippet_post(**fields), HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    page = response.content.decode()
    with translation.override(language):
        expected = str(EmbedSignupForm.OUTDATED)
    assert expected in alert_of(page)
    assert f'<html lang="{language}">' in page
    assert 'value="ana@example.org"' in page and 'value="Ana María"' in page
    assert re.search(r'value="guatemala"[^>]*checked', page)
    assert nothing_written()

    # One more press on our page, which shows our current wording, signs them up.
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        again = browser.post(
            "/signup/",
            {
                "csrfmiddlewaretoken": token,
                "email": "ana@example.org",
                "name": "Ana María",
                "lists": ["guatemala"],
                "language": "es",
            },
            HTTP_ACCEPT_LANGUAGE=language,
        )
    assert again.status_code == 303
    consent = Consent.objects.get()
    assert consent.wording_version == consent_text.CURRENT_VERSION
    assert consent.wording == consent_text.consent_wording(language=language)
    assert consent.wording in htmlmod.unescape(page)


def test_an_older_wording_version_is_accepted_with_its_own_text(lists, django_capture_on_commit_callbacks, monkeypatch):
    older = "Yes, email me about the topics I ticked (%(org)s)."
    monkeypatch.setattr(consent_text, "WORDINGS", {"2025-06": gettext_lazy(older), **consent_text.WORDINGS})

    response = post(
        Client(), django_capture_on_commit_callbacks, snippet_post(wording_version="2025-06", wording_language="en")
    )

    assert response.status_code == 303
    consent = Consent.objects.get()
    assert consent.wording_version == "2025-06"
    assert consent.wording == consent_text.consent_wording(language="en", version="2025-06")
    assert consent.wording.startswith("Yes, email me about the topics I ticked (")
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("page_url", "recorded"),
    [
        pytest.param(
            "https://friends.example/take-action/peru?utm_source=newsletter&ref=" + "x" * 3000,
            "https://friends.example/take-action/peru",
            id="long-query-dropped",
        ),
        pytest.param(
            "https://friends.example/take-action/peru#" + "x" * 3000,
            "https://friends.example/take-action/peru",
            id="long-fragment-dropped",
        ),
        pytest.param(
            "https://friends.example/" + "a" * 3000,
            ("https://friends.example/" + "a" * 3000)[:500],
            id="long-path-cut",
        ),
    ],
)
def test_a_long_page_url_is_clipped_and_recorded(lists, django_capture_on_commit_callbacks, page_url, recorded):
    response = post(Client(), django_capture_on_commit_callbacks, snippet_post(page_url=page_url))

    assert response.status_code == 303
    assert Consent.objects.get().page_url == recorded
    assert len(mail.outbox) == 1


def test_a_long_referer_is_clipped_the_same_way(lists, django_capture_on_commit_callbacks):
    referer = "https://friends.example/take-action/?" + "q=1&" * 1000
    response = post(Client(), django_capture_on_commit_callbacks, snippet_post(), HTTP_REFERER=referer)

    assert response.status_code == 303
    assert Consent.objects.get().page_url == "https://friends.example/take-action/"


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"email": "ana@"}, id="email"),
        pytest.param({"name": "Visit https://spam.example"}, id="name"),
        pytest.param({"lists": ["gone-list"]}, id="lists"),
        pytest.param({"lists": []}, id="no-lists"),
        pytest.param({"language": "de"}, id="language"),
        pytest.param({"wording_version": "old"}, id="wording-version"),
        pytest.param({"wording_language": "pt"}, id="wording-language"),
        pytest.param({"wording_version": "old", "email": "x", "language": "de"}, id="several"),
    ],
)
def test_every_refusal_of_the_embedded_form_is_visible(lists, django_capture_on_commit_callbacks, fields):
    response = post(Client(), django_capture_on_commit_callbacks, snippet_post(**fields))

    assert response.status_code == 400
    page = htmlmod.unescape(response.content.decode())
    errors = [message for messages in response.context["form"].errors.values() for message in messages]
    assert errors
    for message in errors:
        assert message in page, f"error not shown: {message}"
    assert nothing_written()


@pytest.mark.parametrize(
    "page_url",
    [
        # No NUL case: the snippet cannot send one (an HTML parser turns U+0000
        # in an attribute into U+FFFD), and a forged post with one is refused
        # whole by the request guard (tests/test_unsafe_text_guard.py).
        pytest.param("https://friends.example/take\r\naction/", id="crlf"),
        pytest.param("javascript:alert(1)", id="not-http"),
        pytest.param("http://[::1", id="unparsable"),
    ],
)
def test_a_page_url_that_cannot_be_recorded_is_dropped_not_the_signup(
    lists, django_capture_on_commit_callbacks, page_url
):
    response = post(Client(), django_capture_on_commit_callbacks, snippet_post(page_url=page_url))

    assert response.status_code == 303
    assert Consent.objects.get().page_url == "https://friends.example/"
