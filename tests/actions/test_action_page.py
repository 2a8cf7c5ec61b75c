"""The public action page /act/<slug>/: no JavaScript needed, a form error for bad input, never a 500."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail

from actions.models import Action, Letter, Signature
from subscribers.models import Consent, MailingList, Subscriber
from tests.support.factories import letter, petition, riding_map
from tests.support.personas import staff

pytestmark = pytest.mark.django_db


def fields(**extra):  # type: ignore[no-untyped-def]
    return {"name": "Lucía Quispe", "email": "lucia@example.org", "postal_code": "K1A 0B1", **extra}


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


# --- the page -----------------------------------------------------------------------------------


def test_the_petition_page_shows_the_count_the_form_and_a_share_card(client):
    action = petition()
    action.lists.set([MailingList.objects.create(slug="peru", name="Peru")])
    Signature.objects.create(action=action, email="x@example.org", name="X")

    response = client.get("/act/stop-the-mine/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "1 signature" in text_of(response) and "goal: 1,000" in text_of(response)
    for name in ("name", "email", "postal_code", "message", "opt_in_lists"):
        assert f'name="{name}"' in html
    # Opt-in boxes are never ticked for the person.
    assert re.search(r'<input type="checkbox" name="opt_in_lists" value="peru"[^>]*>', html)
    assert "checked" not in re.search(r'<input type="checkbox" name="opt_in_lists"[^>]*>', html).group(0)
    assert '<meta property="og:title" content="Stop the open-pit mine at Laguna Azul">' in html
    assert 'property="og:url" content="' in html and "/act/stop-the-mine/" in html
    assert "<script" not in html  # works without JavaScript (no CAPTCHA configured)
    assert 'rel="alternate" type="application/atom+xml"' in html


def test_the_letter_page_shows_the_letter_and_who_receives_it(client):
    riding_map()
    action = letter()
    response = client.get(action.get_absolute_url())
    page = text_of(response)
    assert action.letter_body in page
    assert "MPS : the one who represents your district, found from your postal code" in page  # MPS in bold
    assert 'name="message"' in response.content.decode()
    assert 'name="letter_body"' not in response.content.decode()


def test_a_fully_editable_letter_is_in_the_form_itself(client):
    action = letter(edit_policy=Action.EditPolicy.FULL)
    html = client.get(action.get_absolute_url()).content.decode()
    assert 'name="letter_subject"' in html and 'name="letter_body"' in html
    assert action.letter_body in html


def test_the_page_speaks_spanish_and_french(client):
    petition()
    spanish = text_of(client.get("/act/stop-the-mine/", HTTP_ACCEPT_LANGUAGE="es"))
    french = text_of(client.get("/act/stop-the-mine/", HTTP_ACCEPT_LANGUAGE="fr"))
    assert "Firmar la petición" in spanish
    assert "Signer la pétition" in french


def test_a_draft_is_not_found_except_by_staff_who_see_a_preview(client):
    petition(status=Action.Status.DRAFT)
    assert client.get("/act/stop-the-mine/").status_code == 404
    user = staff("writer1", "admin")
    client.force_login(user)
    response = client.get("/act/stop-the-mine/")
    assert response.status_code == 200
    assert "Preview of a draft" in text_of(response)


def test_an_unknown_action_is_a_404_page(client):
    assert client.get("/act/nope/").status_code == 404


# --- signing ----------------------------------------------------------------------------------


def test_signing_redirects_to_a_thank_you_page_that_names_the_person(client):
    action = petition()
    response = client.post("/act/stop-the-mine/", fields(message="¡No a la mina!"))

    assert response.status_code == 303
    assert response["Location"].startswith("/act/stop-the-mine/thanks/?s=")
    signature = Signature.objects.get()
    assert (signature.source, signature.language, signature.message) == ("form", "en", "¡No a la mina!")
    thanks = client.get(response["Location"])
    assert "Thank you, Lucía Quispe!" in text_of(thanks)
    assert "1 signature" in text_of(thanks)
    assert action.signatures.count() == 1


def test_a_tampered_thank_you_link_shows_a_plain_thank_you(client):
    petition()
    response = client.get("/act/stop-the-mine/thanks/?s=forged")
    assert response.status_code == 200
    assert "Thank you!" in text_of(response)


def test_signing_again_says_so_kindly_and_changes_nothing(client):
    petition()
    client.post("/act/stop-the-mine/", fields(message="First"))
    response = client.post("/act/stop-the-mine/", fields(name="Other Name", message="Second"))

    assert response.status_code == 200
    assert "You have already signed: thank you!" in text_of(response)
    assert Signature.objects.get().message == "First"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"postal_code": "90210"}, "postal_code"),
        ({"email": "lucia@example.org\r\nBcc: x@example.org"}, "email"),
        ({"name": "Go to evil.example/win"}, "name"),
        ({"name": ""}, "name"),
        ({"message": "x" * 1001}, "message"),
        ({"email": "x" * 300 + "@example.org"}, "email"),
        ({"opt_in_lists": ["not-offered"]}, "opt_in_lists"),
    ],
)
def test_bad_input_is_a_form_error_and_nothing_is_stored(client, extra, field):
    action = petition()
    action.lists.set([MailingList.objects.create(slug="peru", name="Peru")])
    response = client.post("/act/stop-the-mine/", fields(**extra))

    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert 'class="error"' in response.content.decode()
    assert not Signature.objects.exists()


@pytest.mark.parametrize("extra", [{"name": "Lucía\x00"}, {"message": "a\x00b"}, {"postal_code": "K1A\x000B1"}])
def test_a_nul_byte_is_refused_with_a_400_and_nothing_is_stored(client, extra):
    # config/middleware.py answers before the form sees it (PostgreSQL refuses NUL in text).
    petition()
    response = client.post("/act/stop-the-mine/", fields(**extra))
    assert response.status_code == 400
    assert not Signature.objects.exists()


def test_a_megabyte_of_comment_is_a_form_error(client):
    petition()
    response = client.post("/act/stop-the-mine/", fields(message="ü" * 1_000_000))
    assert response.status_code == 400
    assert not Signature.objects.exists()


def test_the_honeypot_gets_a_thank_you_and_stores_nothing(client):
    petition()
    response = client.post("/act/stop-the-mine/", fields(website="http://spam.example"))
    assert response.status_code == 303
    assert not Signature.objects.exists()


def test_too_many_signatures_from_one_address_are_held_back(client, settings):
    settings.TOCSIN_SIGNUP_PER_MINUTE = 2
    petition()
    for number in range(2):
        assert client.post("/act/stop-the-mine/", fields(email=f"p{number}@example.org")).status_code == 303
    response = client.post("/act/stop-the-mine/", fields(email="p9@example.org"))
    assert response.status_code == 429
    assert response["Retry-After"]
    assert Signature.objects.count() == 2


def test_a_failed_captcha_is_a_form_error(client, settings):
    settings.TURNSTILE_SITE_KEY = "site"
    settings.TURNSTILE_SECRET_KEY = "secret"
    settings.TURNSTILE_VERIFY_URL = "http://127.0.0.1:9/verify"  # nothing listens: fails closed
    settings.TURNSTILE_TIMEOUT = 0.5
    petition()
    response = client.post("/act/stop-the-mine/", fields())
    assert response.status_code == 400
    assert "We could not check that you are a person" in text_of(response)
    assert not Signature.objects.exists()


def test_a_closed_action_shows_its_count_and_takes_no_signature(client):
    petition(status=Action.Status.CLOSED)
    page = client.get("/act/stop-the-mine/")
    assert "This action is closed" in text_of(page)
    assert 'name="email"' not in page.content.decode()
    response = client.post("/act/stop-the-mine/", fields())
    assert response.status_code == 409
    assert not Signature.objects.exists()


def test_closing_an_action_or_adding_a_list_takes_effect_on_the_next_post(client):
    action = petition()
    assert client.post("/act/stop-the-mine/", fields()).status_code == 303
    action.lists.set([MailingList.objects.create(slug="peru", name="Peru")])
    ticked = client.post("/act/stop-the-mine/", fields(email="ana@example.org", opt_in_lists=["peru"]))
    assert ticked.status_code == 303
    assert Subscriber.objects.filter(email="ana@example.org").exists()
    action.status = Action.Status.CLOSED
    action.save()
    assert client.post("/act/stop-the-mine/", fields(email="rosa@example.org")).status_code == 409
    assert Signature.objects.count() == 2


def test_ticking_a_list_sends_one_confirmation_and_the_thank_you_page_says_so(
    client, django_capture_on_commit_callbacks
):
    action = petition()
    action.lists.set([MailingList.objects.create(slug="peru", name="Peru")])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/act/stop-the-mine/", fields(opt_in_lists=["peru"]), HTTP_USER_AGENT="Firefox", REMOTE_ADDR="203.0.113.5"
        )

    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    consent = Consent.objects.get()
    assert consent.ip_address == "203.0.113.5"
    assert consent.page_url == "http://testserver/act/stop-the-mine/"
    assert consent.source == Consent.Source.FORM
    assert len(mail.outbox) == 1
    assert "One more step" in text_of(client.get(response["Location"]))


# --- letters and the district step ---------------------------------------------------------------


def test_a_letter_goes_to_the_mp_of_the_postal_code_and_the_thank_you_page_names_them(client):
    ridings = riding_map()
    action = letter()
    response = client.post(action.get_absolute_url(), fields(postal_code="k1a0b1", message="I live here."))

    assert response.status_code == 303
    assert [item.target for item in Letter.objects.all()] == [ridings["mp_north"]]
    assert "Ana Tremblay" in text_of(client.get(response["Location"]))


def test_a_letter_to_an_office_whose_address_bounces_is_promised_by_hand_without_blaming_the_office(client):
    from django.utils import timezone

    ridings = riding_map()
    ridings["mp_north"].bouncing_since = timezone.now()
    ridings["mp_north"].save()
    response = client.post(letter().get_absolute_url(), fields(postal_code="k1a0b1"))

    thanks = text_of(client.get(response["Location"]))
    assert [item.status for item in Letter.objects.all()] == [Letter.Status.BY_HAND]
    assert "Ana Tremblay" in thanks and "we will deliver this letter by hand" in thanks
    assert "takes no email" not in thanks  # the office may well take email: its address bounced


def test_an_ambiguous_postal_code_asks_for_the_district_and_stores_nothing_until_chosen(client):
    ridings = riding_map()
    action = letter()
    response = client.post(action.get_absolute_url(), fields(postal_code="K2B 1A1", message="Mine."))

    assert response.status_code == 200
    page = text_of(response)
    assert "Which district do you live in?" in page
    assert "Rideau East" in page and "Ben Okafor" in page and "Rideau West" in page
    assert not Signature.objects.exists()
    signed = response.context["signed"]

    response = client.post(action.get_absolute_url(), {"signed": signed, "district": "90003"})

    assert response.status_code == 303
    signature = Signature.objects.get()
    assert (signature.district, signature.message, signature.name) == (ridings["west"], "Mine.", "Lucía Quispe")
    assert [item.target for item in Letter.objects.all()] == [ridings["mp_west"]]


def test_the_district_step_without_a_choice_asks_again(client):
    riding_map()
    action = letter()
    signed = client.post(action.get_absolute_url(), fields(postal_code="K2B 1A1")).context["signed"]
    response = client.post(action.get_absolute_url(), {"signed": signed})
    assert response.status_code == 400
    assert "Choose your district." in text_of(response)
    assert not Signature.objects.exists()


def test_a_district_that_was_not_offered_is_refused_on_the_district_page(client):
    riding_map()
    action = letter()
    signed = client.post(action.get_absolute_url(), fields(postal_code="K2B 1A1")).context["signed"]
    response = client.post(action.get_absolute_url(), {"signed": signed, "district": "90001"})
    assert response.status_code == 400
    assert "Choose one of the districts offered" in text_of(response)
    assert not Signature.objects.exists()


def test_a_tampered_district_step_is_refused(client):
    riding_map()
    action = letter()
    signed = client.post(action.get_absolute_url(), fields(postal_code="K2B 1A1")).context["signed"]
    forged = signed[:-3] + ("AAA" if not signed.endswith("AAA") else "BBB")
    response = client.post(action.get_absolute_url(), {"signed": forged, "district": "90003"})
    assert response.status_code == 400
    assert "This form is out of date" in text_of(response)
    assert not Signature.objects.exists()


def test_no_district_data_at_all_is_a_form_error_not_a_guess(client):
    action = letter()
    response = client.post(action.get_absolute_url(), fields(postal_code="K1A 0B1"))
    assert response.status_code == 400
    assert "We cannot find the district of this postal code yet" in text_of(response)
    assert not Signature.objects.exists()


# --- embedded form and counter ---------------------------------------------------------------------


def test_the_embedded_form_posts_without_csrf_from_an_allowed_site(client, settings):
    settings.TOCSIN_EMBED_ALLOWED_ORIGINS = ["https://friends.example"]
    petition()
    refused = client.post("/act/stop-the-mine/embed/submit/", fields(), HTTP_ORIGIN="https://evil.example")
    assert refused.status_code == 403
    response = client.post(
        "/act/stop-the-mine/embed/submit/",
        fields(page_url="https://friends.example/petition"),
        HTTP_ORIGIN="https://friends.example",
    )
    assert response.status_code == 303
    signature = Signature.objects.get()
    assert (signature.source, signature.source_detail) == ("embed", "https://friends.example/petition")


def test_the_snippet_page_offers_html_that_posts_to_the_embed_endpoint(client):
    petition()
    response = client.get("/act/stop-the-mine/embed/")
    assert response.status_code == 200
    assert "/act/stop-the-mine/embed/submit/" in response.content.decode()


def test_the_counter_is_public_cached_json_for_any_site(client):
    action = petition()
    Signature.objects.create(action=action, email="x@example.org", name="X")
    response = client.get("/act/stop-the-mine/count.json")
    assert response.status_code == 200
    assert response.json()["count"] == 1 and response.json()["goal"] == 1000
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age=60" in response["Cache-Control"]
    # A new signature through the service refreshes the cached count at once.
    client.post("/act/stop-the-mine/", fields())
    assert client.get("/act/stop-the-mine/count.json").json()["count"] == 2


@pytest.mark.redis
def test_with_the_production_redis_cache_each_signature_shows_in_the_counter_at_once(client, settings):
    backend = {"BACKEND": "config.cache.TocsinRedisCache", "LOCATION": settings.REDIS_URL}
    settings.CACHES = {"default": {**backend, "KEY_PREFIX": uuid.uuid4().hex}}
    petition()
    assert client.get("/act/stop-the-mine/count.json").json()["count"] == 0
    for n, email in enumerate(["lucia@example.org", "ana@example.org"], start=1):
        assert client.post("/act/stop-the-mine/", fields(email=email)).status_code == 303
        assert client.get("/act/stop-the-mine/count.json").json()["count"] == n


def test_a_drafts_counter_does_not_exist(client):
    petition(status=Action.Status.DRAFT)
    assert client.get("/act/stop-the-mine/count.json").status_code == 404


def test_the_thank_you_link_carries_only_a_signed_token(client):
    petition()
    location = client.post("/act/stop-the-mine/", fields())["Location"]
    token = parse_qs(urlsplit(location).query)["s"][0]
    assert "lucia" not in token.lower()


def test_signing_and_the_counter_work_while_redis_is_down(client, settings):
    # Nothing listens on port 9: the cache (rate limits, the cached count) is unreachable.
    settings.CACHES = {"default": {"BACKEND": "config.cache.TocsinRedisCache", "LOCATION": "redis://127.0.0.1:9/0"}}
    petition()
    response = client.post("/act/stop-the-mine/", fields())
    assert response.status_code == 303
    assert Signature.objects.count() == 1
    assert client.get("/act/stop-the-mine/count.json").json()["count"] == 1
