"""A sign-up for an address Tocsin already knows: nothing changes until the link is followed.

Anyone can type anyone's address into the form. The person behind it keeps
their status, name, language and lists until they follow the link in the
email; the confirmation then applies exactly what that request asked for.
"""

from __future__ import annotations

import html as htmlmod
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.utils import timezone, translation

from subscribers.models import Consent, MailingList, Subscriber, Subscription, Suppression, email_hash
from subscribers.services import leaving, privacy, purge_unconfirmed, subscribe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signup_isolation")]


@pytest.fixture
def lists():
    return {
        "peru": MailingList.objects.create(slug="peru", name="Peru", position=1),
        "guatemala": MailingList.objects.create(slug="guatemala", name="Guatemala", position=2),
    }


def person(status: str, lists: dict[str, MailingList]) -> Subscriber:
    """Ana, Spanish-speaking, on Peru, then brought to ``status`` the way the system gets there."""
    ana = Subscriber.objects.create(
        email="ana@example.org",
        name="Ana",
        language="es",
        status=Subscriber.Status.CONFIRMED,
        confirmed_at=timezone.now() - timedelta(days=100),
    )
    Subscription.objects.create(subscriber=ana, mailing_list=lists["peru"])
    if status == Subscriber.Status.UNSUBSCRIBED:
        leaving.unsubscribe(subscriber=ana, channel=Consent.Channel.PAGE)
    elif status == Subscriber.Status.BOUNCED:
        leaving.suppress(email=ana.email, reason=Suppression.Reason.BOUNCED, detail="550 no such user")
    elif status == Subscriber.Status.COMPLAINED:
        leaving.suppress(email=ana.email, reason=Suppression.Reason.COMPLAINED)
    elif status == Subscriber.Status.PENDING:
        Subscriber.objects.filter(pk=ana.pk).update(status=status, confirmed_at=None)
        ana.subscriptions.all().delete()
    ana.refresh_from_db()
    return ana


def snapshot(subscriber: Subscriber) -> dict[str, object]:
    subscriber.refresh_from_db()
    return {
        "status": subscriber.status,
        "name": subscriber.name,
        "language": subscriber.language,
        "confirmed_at": subscriber.confirmed_at,
        "unsubscribed_at": subscriber.unsubscribed_at,
        "lists": sorted(
            subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE).values_list(
                "mailing_list__slug", flat=True
            )
        ),
        "suppression": list(Suppression.objects.filter(email_hash=email_hash(subscriber.email)).values_list("reason")),
    }


def stranger_signs_up(client, capture, **fields):
    data = {"email": "ana@example.org", "name": "Mallory", "lists": ["guatemala"], "language": "fr", **fields}
    mail.outbox.clear()
    with capture(execute=True):
        return client.post("/signup/", data)


def link_in(message) -> str:
    match = re.search(r"https?://[^/\s]+(/confirm/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def press(client, capture, path):
    with capture(execute=True):
        return client.post(path)


STATES = [
    Subscriber.Status.PENDING,
    Subscriber.Status.CONFIRMED,
    Subscriber.Status.UNSUBSCRIBED,
    Subscriber.Status.BOUNCED,
    Subscriber.Status.COMPLAINED,
]


@pytest.mark.parametrize("status", STATES)
def test_a_signup_for_a_known_address_changes_nothing_about_the_person(
    client, lists, django_capture_on_commit_callbacks, status
):
    ana = person(status, lists)
    before = snapshot(ana)

    response = stranger_signs_up(client, django_capture_on_commit_callbacks)

    assert response.status_code == 303
    assert snapshot(ana) == before
    # The request itself is kept, as evidence and for the link to apply.
    request = Consent.objects.filter(subscriber=ana, action=Consent.Action.SIGNUP).get()
    assert (request.requested_name, request.requested_language, request.lists) == ("Mallory", "fr", ["guatemala"])
    assert len(mail.outbox) == 1


def test_confirming_applies_the_name_language_and_topics_asked_for(client, lists, django_capture_on_commit_callbacks):
    ana = person(Subscriber.Status.CONFIRMED, lists)
    stranger_signs_up(client, django_capture_on_commit_callbacks, name="Ana María")
    link = link_in(mail.outbox[0])
    mail.outbox.clear()

    response = press(client, django_capture_on_commit_callbacks, link)

    assert response.status_code == 200
    after = snapshot(ana)
    assert (after["status"], after["name"], after["language"]) == (Subscriber.Status.CONFIRMED, "Ana María", "fr")
    # A confirmed person adding a topic keeps the ones they had.
    assert after["lists"] == ["guatemala", "peru"]
    confirmation = Consent.objects.get(action=Consent.Action.CONFIRM)
    assert (confirmation.requested_name, confirmation.requested_language) == ("Ana María", "fr")
    assert confirmation.lists == ["guatemala"]
    assert confirmation.wording == Consent.objects.get(action=Consent.Action.SIGNUP).wording
    assert '<html lang="fr">' in response.content.decode()
    # Already on the list: no welcome email, and the page does not claim one.
    assert mail.outbox == []
    with translation.override("fr"):
        added = translation.gettext(
            "Your new topics are added to the ones you had. The link at the bottom of every email lets you "
            "change your topics, your language or your name whenever you like."
        )
    assert added in htmlmod.unescape(response.content.decode())


def test_a_form_without_a_name_keeps_the_persons_name(client, lists, django_capture_on_commit_callbacks):
    ana = person(Subscriber.Status.UNSUBSCRIBED, lists)
    stranger_signs_up(client, django_capture_on_commit_callbacks, name="")
    assert "Hola Ana" not in mail.outbox[0].body and "Bonjour Ana," in mail.outbox[0].body

    press(client, django_capture_on_commit_callbacks, link_in(mail.outbox[0]))

    after = snapshot(ana)
    assert (after["status"], after["name"], after["language"]) == (Subscriber.Status.CONFIRMED, "Ana", "fr")
    # Coming back after leaving: exactly the topics ticked this time.
    assert after["lists"] == ["guatemala"]
    assert after["suppression"] == []


def test_each_link_applies_its_own_request(client, lists, django_capture_on_commit_callbacks, settings):
    settings.TOCSIN_CONFIRMATION_EMAIL_INTERVAL = 0
    stranger_signs_up(client, django_capture_on_commit_callbacks, name="Ana", language="es", lists=["peru"])
    first = link_in(mail.outbox[0])
    stranger_signs_up(client, django_capture_on_commit_callbacks, name="Mallory", language="fr")
    ana = Subscriber.objects.get()
    # The second request did not rewrite the pending person either.
    assert (ana.name, ana.language) == ("Ana", "es")

    press(client, django_capture_on_commit_callbacks, first)

    after = snapshot(ana)
    assert (after["name"], after["language"], after["lists"]) == ("Ana", "es", ["peru"])


def test_the_email_and_the_page_with_the_button_show_what_was_asked_in_its_language(
    client, lists, django_capture_on_commit_callbacks
):
    person(Subscriber.Status.CONFIRMED, lists)
    stranger_signs_up(client, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert message.subject.startswith("Confirmez")
    assert "Bonjour Mallory," in message.body and "Guatemala" in message.body
    assert '<html lang="fr">' in message.alternatives[0][0]
    page = client.get(link_in(message)).content.decode()
    assert '<html lang="fr">' in page
    request = page[page.index('<dl class="request">') : page.index("</dl>")]
    assert "Guatemala" in request and "Peru" not in request
    with translation.override("fr"):
        assert translation.gettext("Topics to add") in request
    assert "Français" in request and "Mallory" in request
    # Only looking changes nothing.
    assert Subscriber.objects.get().name == "Ana"


def without_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


@pytest.mark.parametrize("state", ["new", *STATES, "erased", "suppressed-elsewhere"])
def test_the_visitor_sees_the_same_answer_whatever_the_address_state(
    client, lists, django_capture_on_commit_callbacks, state
):
    reference = stranger_signs_up(client, django_capture_on_commit_callbacks, email="fresh@example.org")
    if state == "erased":
        privacy.erase(subscriber=person(Subscriber.Status.CONFIRMED, lists), actor=None)
    elif state == "suppressed-elsewhere":
        leaving.suppress(email="ana@example.org", reason=Suppression.Reason.BOUNCED)
    elif state != "new":
        person(state, lists)
    cache.clear()

    response = stranger_signs_up(client, django_capture_on_commit_callbacks)

    assert (response.status_code, response["Location"]) == (reference.status_code, reference["Location"])
    page, fresh = client.get(response["Location"]), client.get(reference["Location"])
    assert without_csrf(page.content.decode()) == without_csrf(fresh.content.decode())


# --- hard-bounced addresses ------------------------------------------------------------------


def confirmations_sent(client, capture, times: int) -> int:
    sent = 0
    for _ in range(times):
        cache.clear()  # the per-IP limit is not what these tests are about
        stranger_signs_up(client, capture)
        sent += len(mail.outbox)
    return sent


def test_a_hard_bounced_address_gets_one_confirmation_a_month(client, lists, django_capture_on_commit_callbacks):
    ana = person(Subscriber.Status.BOUNCED, lists)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert confirmations_sent(client, django_capture_on_commit_callbacks, 1) == 1
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert confirmations_sent(client, django_capture_on_commit_callbacks, 1) == 0
    with time_machine.travel(start + timedelta(days=29), tick=False):
        assert confirmations_sent(client, django_capture_on_commit_callbacks, 3) == 0
    with time_machine.travel(start + timedelta(days=31), tick=False):
        assert confirmations_sent(client, django_capture_on_commit_callbacks, 3) == 1
    # Still bounced: only following the link changes that.
    assert snapshot(ana)["status"] == Subscriber.Status.BOUNCED


def test_the_confirmation_that_bounced_counts_as_the_attempt(client, lists, django_capture_on_commit_callbacks):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert confirmations_sent(client, django_capture_on_commit_callbacks, 1) == 1
        leaving.suppress(email="ana@example.org", reason=Suppression.Reason.BOUNCED)
    with time_machine.travel(start + timedelta(days=3), tick=False):
        assert confirmations_sent(client, django_capture_on_commit_callbacks, 2) == 0


def test_an_address_that_bounced_elsewhere_gets_one_confirmation_a_month_even_if_purged(
    client, lists, settings, django_capture_on_commit_callbacks
):
    settings.TOCSIN_PURGE_UNCONFIRMED_DAYS = 7
    leaving.suppress(email="ana@example.org", reason=Suppression.Reason.REJECTED)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert confirmations_sent(client, django_capture_on_commit_callbacks, 2) == 1
    with time_machine.travel(start + timedelta(days=10), tick=False):
        purge_unconfirmed()
        assert confirmations_sent(client, django_capture_on_commit_callbacks, 1) == 0
    with time_machine.travel(start + timedelta(days=45), tick=False):
        # A month after the last attempt, with nothing asked since: purged as usual.
        assert purge_unconfirmed() == 1
        assert confirmations_sent(client, django_capture_on_commit_callbacks, 1) == 1


# --- staff paths keep their meaning ---------------------------------------------------------


@pytest.mark.parametrize(
    "status", [Subscriber.Status.UNSUBSCRIBED, Subscriber.Status.BOUNCED, Subscriber.Status.COMPLAINED]
)
@pytest.mark.parametrize("source", [Consent.Source.API, Consent.Source.IMPORT])
def test_an_api_call_or_import_does_not_bring_back_someone_who_left_and_was_signed_up_again(
    client, lists, django_capture_on_commit_callbacks, status, source
):
    ana = person(status, lists)
    stranger_signs_up(client, django_capture_on_commit_callbacks)
    before = snapshot(ana)

    result = subscribe(email="ana@example.org", name="Staff typo", lists=["peru"], source=source, double_opt_in=False)

    assert result.outcome == "suppressed"
    assert snapshot(ana) == before


def test_an_api_call_for_a_known_address_still_adds_lists_at_once(lists):
    ana = person(Subscriber.Status.CONFIRMED, lists)
    result = subscribe(
        email="ana@example.org",
        name="Other",
        language="fr",
        lists=["guatemala"],
        source=Consent.Source.API,
        double_opt_in=False,
    )
    assert result.outcome == "confirmed"
    after = snapshot(ana)
    # Staff add lists; the person's own name and language stay theirs.
    assert (after["name"], after["language"], after["lists"]) == ("Ana", "es", ["guatemala", "peru"])
