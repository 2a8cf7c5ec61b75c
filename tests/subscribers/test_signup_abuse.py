"""Sign-up bombing and hostile input: a clear answer, nothing written, no email."""

from __future__ import annotations

import pytest
from django.core import mail

from subscribers.models import Consent, Subscriber
from tests.support.http import HTTPReceiver, Request, Response, json_response
from tests.support.signup import EMBED, nothing_happened, post, valid

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signup_isolation")]

# --- rate limits -------------------------------------------------------------------


def test_the_sixth_signup_in_a_minute_from_one_ip_is_refused(client, lists, django_capture_on_commit_callbacks):
    for n in range(5):
        response = post(client, django_capture_on_commit_callbacks, valid(email=f"p{n}@example.org"))
        assert response.status_code == 303
    response = post(client, django_capture_on_commit_callbacks, valid(email="sixth@example.org"))

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many sign-ups" in response.content.decode()
    assert not Subscriber.objects.filter(email="sixth@example.org").exists()
    assert len(mail.outbox) == 5


def test_the_hourly_limit_applies_across_minutes(client, lists, settings, django_capture_on_commit_callbacks):
    settings.TOCSIN_SIGNUP_PER_MINUTE = 100
    settings.TOCSIN_SIGNUP_PER_HOUR = 3
    codes = [
        post(client, django_capture_on_commit_callbacks, valid(email=f"p{n}@example.org")).status_code for n in range(4)
    ]
    assert codes == [303, 303, 303, 429]


def test_rate_limits_can_be_switched_off_for_benchmarks(client, lists, settings, django_capture_on_commit_callbacks):
    settings.TOCSIN_SIGNUP_RATE_LIMIT = False
    codes = {
        post(client, django_capture_on_commit_callbacks, valid(email=f"p{n}@example.org")).status_code for n in range(8)
    }
    assert codes == {303}


def test_a_forged_forwarded_for_header_does_not_escape_the_limit(client, lists, django_capture_on_commit_callbacks):
    codes = [
        post(
            client,
            django_capture_on_commit_callbacks,
            valid(email=f"p{n}@example.org"),
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        ).status_code
        for n in range(6)
    ]
    assert codes[-1] == 429
    assert Consent.objects.filter(ip_address="127.0.0.1").count() == 5


def test_behind_a_trusted_proxy_the_client_ip_comes_from_forwarded_for(
    client, lists, settings, django_capture_on_commit_callbacks
):
    settings.TOCSIN_TRUSTED_PROXY_COUNT = 1
    # The client may write anything on the left; our proxy appends the real address.
    for n in range(5):
        forwarded = f"6.6.6.{n}, 203.0.113.7"
        response = post(
            client, django_capture_on_commit_callbacks, valid(email=f"p{n}@example.org"), HTTP_X_FORWARDED_FOR=forwarded
        )
        assert response.status_code == 303
    blocked = post(
        client,
        django_capture_on_commit_callbacks,
        valid(email="x@example.org"),
        HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7",
    )
    other = post(
        client, django_capture_on_commit_callbacks, valid(email="y@example.org"), HTTP_X_FORWARDED_FOR="198.51.100.9"
    )

    assert blocked.status_code == 429
    assert other.status_code == 303
    assert Consent.objects.get(email="y@example.org").ip_address == "198.51.100.9"
    assert Consent.objects.get(email="p0@example.org").ip_address == "203.0.113.7"


def test_ipv6_neighbours_share_one_limit(client, lists, django_capture_on_commit_callbacks):
    codes = [
        post(
            client,
            django_capture_on_commit_callbacks,
            valid(email=f"p{n}@example.org"),
            REMOTE_ADDR=f"2001:db8:1:2::{n + 1}",
        ).status_code
        for n in range(6)
    ]
    assert codes[-1] == 429


# --- honeypot and CAPTCHA ---------------------------------------------------------------


def test_a_filled_honeypot_looks_like_success_but_writes_nothing(client, lists, django_capture_on_commit_callbacks):
    response = post(client, django_capture_on_commit_callbacks, valid(website="http://spam.example"))
    assert response.status_code == 303
    assert response["Location"].startswith("/signup/thanks/")
    assert nothing_happened()


class Turnstile(HTTPReceiver):
    """Cloudflare's siteverify on 127.0.0.1: a token in ``answers`` is a human, with the right secret."""

    def __init__(self) -> None:
        self.answers: dict[str, bool] = {"human-token": True}
        super().__init__(self.verify)

    @property
    def seen(self) -> list[dict[str, str]]:
        return [request.form() for request in self.requests]

    def verify(self, request: Request) -> Response:
        fields = request.form()
        human = fields.get("secret") == "sekrit" and self.answers.get(fields.get("response", ""), False)
        return json_response(200, {"success": human})


@pytest.fixture
def turnstile(settings):
    server = Turnstile()
    settings.TURNSTILE_SITE_KEY = "site-key"
    settings.TURNSTILE_SECRET_KEY = "sekrit"
    settings.TURNSTILE_VERIFY_URL = f"{server.url}/siteverify"
    yield server
    server.close()


def test_with_captcha_keys_the_form_shows_the_widget(client, lists, turnstile):
    html = client.get("/signup/").content.decode()
    assert 'class="cf-turnstile" data-sitekey="site-key"' in html


def test_with_captcha_on_a_human_gets_through(client, lists, turnstile, django_capture_on_commit_callbacks):
    response = post(client, django_capture_on_commit_callbacks, valid(**{"cf-turnstile-response": "human-token"}))
    assert response.status_code == 303
    assert Subscriber.objects.filter(email="ana@example.org").exists()
    assert turnstile.seen[0]["remoteip"] == "127.0.0.1"


@pytest.mark.parametrize("token", ["", "robot-token"])
def test_with_captcha_on_a_failed_challenge_is_a_form_error(
    client, lists, turnstile, django_capture_on_commit_callbacks, token
):
    response = post(client, django_capture_on_commit_callbacks, valid(**{"cf-turnstile-response": token}))
    assert response.status_code == 400
    assert "could not check that you are a person" in response.content.decode()
    assert nothing_happened()


def test_with_captcha_on_an_unreachable_verifier_fails_closed(
    client, lists, settings, django_capture_on_commit_callbacks
):
    settings.TURNSTILE_SITE_KEY = "site-key"
    settings.TURNSTILE_SECRET_KEY = "sekrit"
    settings.TURNSTILE_VERIFY_URL = "http://127.0.0.1:9/siteverify"  # discard port: nothing answers
    settings.TURNSTILE_TIMEOUT = 2
    response = post(client, django_capture_on_commit_callbacks, valid(**{"cf-turnstile-response": "x"}))
    assert response.status_code == 400
    assert nothing_happened()


# --- bad input --------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"email": "not-an-address"}, id="malformed"),
        pytest.param({"email": "ana@"}, id="no-domain"),
        pytest.param({"email": "ana@example.org\r\nBcc: victim@example.org"}, id="crlf-in-email"),
        pytest.param({"email": "ana@example.org\n"}, id="trailing-newline-in-email"),
        pytest.param({"email": "a" * 290 + "@example.org"}, id="300-characters"),
        pytest.param({"email": ("a" * 63 + ".") * 4 + "@example.org"}, id="long-local-part"),
        pytest.param({"email": ""}, id="empty-email"),
        pytest.param({"name": "Ana\r\nBcc: victim@example.org"}, id="crlf-in-name"),
        # NUL and other control characters never reach the form: see tests/test_unsafe_text_guard.py.
        pytest.param({"name": "<script>alert(1)</script>"}, id="script-in-name"),
        pytest.param({"name": '<a href="http://spam.example">win</a>'}, id="link-in-name"),
        pytest.param({"name": "Visit https://spam.example now"}, id="url-in-name"),
        pytest.param({"name": "x" * 101}, id="long-name"),
        pytest.param({"lists": []}, id="no-topic"),
        pytest.param({"lists": ["nope"]}, id="unknown-list"),
        pytest.param({"lists": ["donors"]}, id="private-list"),
        pytest.param({"lists": ["peru\r\n"]}, id="crlf-in-list"),
        pytest.param({"language": "de"}, id="unknown-language"),
        pytest.param({"language": "en\r\nX: y"}, id="crlf-in-language"),
        pytest.param({"language": ""}, id="no-language"),
    ],
)
def test_bad_input_is_a_form_error_and_nothing_is_written(client, lists, django_capture_on_commit_callbacks, fields):
    response = post(client, django_capture_on_commit_callbacks, valid(**fields))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="error"' in html or 'class="form-errors"' in html
    assert "<script>alert" not in html
    assert nothing_happened()


def test_an_empty_post_is_a_form_error(client, lists, django_capture_on_commit_callbacks):
    response = post(client, django_capture_on_commit_callbacks, {})
    assert response.status_code == 400
    assert "Tick at least one topic" in response.content.decode()
    assert nothing_happened()


def test_a_huge_post_is_refused_without_a_500(client, lists, django_capture_on_commit_callbacks):
    response = post(client, django_capture_on_commit_callbacks, valid(name="x" * 200_000, email="y" * 100_000))
    assert response.status_code == 400
    assert nothing_happened()


def test_a_rejected_form_keeps_what_was_typed(client, lists, django_capture_on_commit_callbacks):
    response = post(client, django_capture_on_commit_callbacks, valid(email="ana@", name="Ana María"))
    html = response.content.decode()
    assert 'value="Ana María"' in html
    assert 'value="peru" id="id_lists_0" checked' in html or ('value="peru"' in html and "checked" in html)


def test_get_on_the_embed_endpoint_leads_to_the_signup_page(client):
    response = client.get("/signup/embed/submit/")
    assert response.status_code == 302
    assert response["Location"] == "/signup/"


def test_other_methods_are_refused(client, lists):
    assert client.put("/signup/").status_code == 405
    assert client.delete("/signup/embed/submit/").status_code == 405


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("6.6.6.6, 203.0.113.7", "203.0.113.7"),
        ("203.0.113.7:51234", "203.0.113.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("garbage", None),
    ],
)
def test_the_client_ip_is_read_from_the_trusted_proxys_entry(rf, settings, forwarded, expected):
    from subscribers.ratelimit import client_ip

    settings.TOCSIN_TRUSTED_PROXY_COUNT = 1
    request = rf.post("/signup/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.1")
    assert client_ip(request) == expected


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Win money at evil.example/claim", "without HTML, links or web addresses"),
        ("name", "Ana\u2066x\u2069", "invisible or text-direction"),
        ("email", "ana@[127.0.0.1]", "not an IP address"),
    ],
)
@pytest.mark.parametrize("url", ["/signup/", EMBED])
def test_link_names_disguises_and_ip_literal_addresses_are_refused_on_both_forms(
    client, lists, django_capture_on_commit_callbacks, url, field, value, message
):
    response = post(client, django_capture_on_commit_callbacks, valid(**{field: value}), url=url)
    assert response.status_code in (200, 400)
    assert message in response.content.decode()
    assert nothing_happened()
