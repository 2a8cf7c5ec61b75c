"""A letter sent by a real worker over real SMTP bounces: the DSN to its VERP address is piped to ingest_bounce.

The test reads the MAIL FROM the SMTP server received, writes the delivery
report a mail server would return to it (RFC 3464), and hands it to ``manage.py
ingest_bounce`` in its own process, as a Postfix pipe would. The target is then
flagged, the letter failed, and the next supporter's letter to that target is
kept for delivery by hand while their letter to another target still goes out.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.cache import cache
from django.test import Client

from actions.models import Action, Letter, Target
from campaigns.events.bounces import verp
from subscribers.models import Subscriber
from subscribers.services.leaving import is_suppressed
from tests.support import bounce_samples
from tests.support.bounce_samples import ingest_bounce
from tests.support.factories import letter, make_list, make_subscriber, riding_map, target
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
L = Letter.Status
MP = "ana.tremblay@parl.example"
MINISTER = "minister@gov.example"


def sign_on_the_page(action: Action, n: int) -> None:
    fields = {"name": f"Ana Quispe {n}", "email": f"ana{n}@example.org", "postal_code": "K1A 0B1", "message": "Basta."}
    response = Client().post(action.get_absolute_url(), fields)
    assert response.status_code == 303, response.content[:500]


def letter_status(email: str, target_email: str) -> str:
    return Letter.objects.get(signature__email=email, target__email=target_email).status


def test_a_bounced_letter_flags_its_target_and_the_next_letter_goes_by_hand(celery_worker_process, smtp_server):
    cache.clear()  # the page's per-IP counters
    riding_map()
    action = letter(fixed=[target("Minister of Mines", MINISTER, groups=())])
    make_subscriber("ana0@example.org", lists=[make_list()])

    sign_on_the_page(action, 0)
    smtp_server.wait_for(2, timeout=60)
    wait_until(lambda: not Letter.objects.exclude(status=L.SENT).exists(), timeout=30, message="both letters sent")

    envelopes = {rcpt[0]: mail_from for mail_from, rcpt in smtp_server.handler.envelopes}
    mp_letter = Letter.objects.get(target__email=MP)
    assert envelopes[MP].startswith("bounces+letter-") and envelopes[MP].endswith("@tocsin.example.org")
    assert verp.returned_in(envelopes[MP]) == [verp.Returned("letter", mp_letter.pk)]
    assert envelopes[MINISTER] != envelopes[MP]
    # Only the envelope changed: From is still the organisation's, Reply-To the supporter.
    received = {str(message["To"]).split("<")[-1].rstrip(">"): message for message in smtp_server.messages}
    assert received[MP]["From"].addresses[0].addr_spec == "bulletin@tocsin.example.org"
    assert received[MP]["Reply-To"].addresses[0].addr_spec == "ana0@example.org"

    done = ingest_bounce(bounce_samples.render("postfix_hard", verp=envelopes[MP], rcpt=MP))

    assert done.returncode == 0, done.stderr.decode()
    assert b"recorded" in done.stdout, done.stdout
    mp_letter.refresh_from_db()
    assert mp_letter.status == L.FAILED and "User unknown" in mp_letter.error
    mp = Target.objects.get(email=MP)
    assert mp.bouncing_since is not None and "User unknown" in mp.bounce_reason
    assert letter_status("ana0@example.org", MINISTER) == L.SENT  # the other target is not touched
    assert Subscriber.objects.get(email="ana0@example.org").status == Subscriber.Status.CONFIRMED
    assert not is_suppressed("ana0@example.org")

    sign_on_the_page(action, 1)
    wait_until(lambda: letter_status("ana1@example.org", MINISTER) == L.SENT, timeout=60, message="minister's letter")

    assert letter_status("ana1@example.org", MP) == L.BY_HAND
    assert Counter(rcpt[0] for _mail_from, rcpt in smtp_server.handler.envelopes) == Counter({MP: 1, MINISTER: 2})
