"""Sign-up to welcome, with the email leaving a real Celery worker over SMTP.

The sign-up POST goes through Django's test client; the confirmation and the
welcome emails are sent by a real ``celery worker`` process on Redis, to an
aiosmtpd server; the link is taken from the email a person would read.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest

from subscribers.models import Consent, MailingList, Subscriber

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CONFIRM_LINK = re.compile(r"https?://[^\s\"'<>]+/confirm/[^\s\"'<>]+")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the email has no text part"
    return str(part.get_content())  # type: ignore[attr-defined]


def test_a_sign_up_is_confirmed_from_the_emailed_link_and_welcomed(client, celery_worker_process, smtp_server):
    MailingList.objects.create(slug="peru", name="Peru", public=True)
    MailingList.objects.create(slug="honduras", name="Honduras", public=True)

    response = client.post(
        "/signup/",
        {"email": "Ana.Quispe@example.org", "name": "Ana", "lists": ["peru"], "language": "en", "website": ""},
    )
    assert response.status_code in {302, 303}

    [confirmation] = smtp_server.wait_for(1)
    assert confirmation["To"] == "ana.quispe@example.org"
    assert smtp_server.handler.envelopes[0][1] == ["ana.quispe@example.org"]
    subscriber = Subscriber.objects.get(email="ana.quispe@example.org")
    assert subscriber.status == Subscriber.Status.PENDING

    links = CONFIRM_LINK.findall(text_of(confirmation))
    assert links, text_of(confirmation)
    path = urlsplit(links[0]).path

    # Opening the link (as a mail scanner would) confirms nothing.
    assert client.get(path).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING

    assert client.post(path).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED
    assert set(subscriber.lists.values_list("slug", flat=True)) == {"peru"}
    assert subscriber.consents.filter(action=Consent.Action.CONFIRM).exists()

    _, welcome = smtp_server.wait_for(2)
    assert welcome["To"] == "ana.quispe@example.org"
    assert welcome["Subject"] != confirmation["Subject"]
    assert "Peru" in text_of(welcome)
    assert welcome.get_body(preferencelist=("html",)) is not None
    # Exactly the two emails, nothing more (no duplicate confirmation).
    assert len(smtp_server.messages) == 2
