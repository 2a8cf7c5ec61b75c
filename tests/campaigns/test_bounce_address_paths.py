"""Every way a campaign email leaves by SMTP carries its VERP envelope sender, and a bounce to it suppresses the reader.

Tocsin's own MIME and pipelined SMTP take the usual shape (text + HTML); any
other shape (an attachment, text alone) goes through Django's SMTP backend,
which takes the envelope sender from ``from_email``: the bounce address
must reach MAIL FROM there too, with the header From left as it was.
"""

from __future__ import annotations

import pytest
from django.core.mail import EmailMultiAlternatives

from campaigns.events.bounces import verp
from campaigns.sending.transports.email_backend import EmailBackendTransport
from subscribers.services.leaving import is_suppressed
from tests.support import bounce_samples
from tests.support.bounce_samples import ingest_bounce
from tests.support.factories import make_delivery
from tests.support.smtp import collecting_server

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SENDER = "Tocsin Bulletin <bulletin@tocsin.example.org>"


def _multipart(to: str) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives("Rivers", "Plain words", SENDER, [to])
    message.attach_alternative("<p>Plain words</p>", "text/html")
    return message


def _with_attachment(to: str) -> EmailMultiAlternatives:
    message = _multipart(to)
    message.attach("dossier.txt", "Evidence", "text/plain")
    return message


def _text_only(to: str) -> EmailMultiAlternatives:
    return EmailMultiAlternatives("Rivers", "Plain words", SENDER, [to])


@pytest.mark.parametrize("build", [_multipart, _with_attachment, _text_only], ids=["fast", "attachment", "text"])
def test_the_envelope_sender_is_the_delivery_bounce_address_and_its_bounce_suppresses(build, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.TOCSIN_BOUNCE_DOMAIN = "returns.example.org"
    delivery = make_delivery("reader@example.net")
    with collecting_server() as server:
        settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        transport = EmailBackendTransport()
        prepared = transport.prepare(
            build("reader@example.net"), campaign_id=delivery.campaign_id, delivery_id=delivery.pk
        )
        [verdict] = transport.send([prepared])
        transport.close()
        [received] = server.wait_for(1)
    mail_from, recipients = server.handler.envelopes[0]

    assert verdict.outcome == "sent", verdict
    assert recipients == ["reader@example.net"]
    assert mail_from == verp.envelope_sender(delivery_id=delivery.pk, envelope_from="bulletin@tocsin.example.org")
    assert mail_from.endswith("@returns.example.org")
    assert received["From"] == SENDER  # readers still see who wrote

    done = ingest_bounce(bounce_samples.render("postfix_hard", verp=mail_from, rcpt="reader@example.net"))

    assert done.returncode == 0, done.stderr.decode()
    assert is_suppressed("reader@example.net")
