"""Every Anymail provider accepts the campaign messages Tocsin builds (and the staff test sends).

Anymail refuses a message option a provider cannot honour
(``AnymailUnsupportedFeature``): Postal and MailerSend take no metadata,
SES, Brevo and others no per-message tracking switch, several providers only
one tag. A campaign that used such an option would fail for every recipient.
These tests build each provider's real API payload from a rendered message,
with the provider's own Anymail backend, without any network call.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from anymail.exceptions import AnymailUnsupportedFeature
from django.core.mail import get_connection

from campaigns.sending import engine
from campaigns.sending.rendering import CampaignRenderer
from campaigns.services import proofs
from tests.support.factories import make_campaign, make_list, make_people

pytestmark = pytest.mark.django_db

# Each provider with the least configuration its backend needs to build a payload.
PROVIDERS: dict[str, dict[str, str]] = {
    "amazon_ses": {},
    "brevo": {"BREVO_API_KEY": "key"},
    "mailersend": {"MAILERSEND_API_TOKEN": "token"},
    "mailgun": {"MAILGUN_API_KEY": "key"},
    "mailjet": {"MAILJET_API_KEY": "key", "MAILJET_SECRET_KEY": "secret"},
    "mailtrap": {"MAILTRAP_API_TOKEN": "token"},
    "mandrill": {"MANDRILL_API_KEY": "key"},
    "postal": {"POSTAL_API_KEY": "key", "POSTAL_API_URL": "https://postal.example.org"},
    "postmark": {"POSTMARK_SERVER_TOKEN": "token"},
    "resend": {"RESEND_API_KEY": "key"},
    "scaleway": {"SCALEWAY_SECRET_KEY": "key", "SCALEWAY_PROJECT_ID": "project"},
    "sendgrid": {"SENDGRID_API_KEY": "key"},
    "sparkpost": {"SPARKPOST_API_KEY": "key"},
    "unisender_go": {
        "UNISENDER_GO_API_KEY": "key",
        "UNISENDER_GO_API_URL": "https://go1.unisender.ru/en/transactional/api/v1/",
    },
}

built: list[tuple[str, Any]] = []


def payload_only(esp: str) -> str:
    """A subclass of the provider's real backend that builds each payload and sends nothing."""
    module = importlib.import_module(f"anymail.backends.{esp}")

    class PayloadOnly(module.EmailBackend):  # type: ignore[name-defined,misc]
        def send_messages(self, email_messages):  # type: ignore[no-untyped-def]
            for message in email_messages:
                built.append((esp, self.build_message_payload(message, self.send_defaults)))
            return len(email_messages)

    name = f"PayloadOnly_{esp}"
    PayloadOnly.__name__ = PayloadOnly.__qualname__ = name
    globals()[name] = PayloadOnly
    return f"{__name__}.{name}"


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request, settings):  # type: ignore[no-untyped-def]
    esp = request.param
    if esp == "amazon_ses":
        pytest.importorskip("boto3", reason="Amazon SES needs boto3, which requirements.txt pins")
    settings.ESP = esp
    settings.ANYMAIL = {**PROVIDERS[esp], "AMAZON_SES_CLIENT_PARAMS": {"region_name": "eu-west-1"}}
    settings.EMAIL_BACKEND = payload_only(esp)
    settings.DEFAULT_FROM_EMAIL = "Red de Alerta <news@example.org>"
    built.clear()
    yield esp
    built.clear()


def test_a_tracked_campaign_message_is_accepted_by_every_provider(provider):
    people = make_list()
    [ana] = make_people(1, people)
    campaign = make_campaign([people])
    message = CampaignRenderer(campaign).render(subscriber=ana, delivery_id=7)
    backend = get_connection()
    try:
        backend.build_message_payload(message, backend.send_defaults)
    except AnymailUnsupportedFeature as error:  # pragma: no cover - the failure this test is for
        pytest.fail(f"{provider} refuses what Tocsin sends: {error}")
    metadata = getattr(message, "metadata", None)
    if provider in {"postal", "mailersend"}:
        assert metadata is None  # matched back by the provider's message id instead
    else:
        assert metadata == {"campaign_id": str(campaign.pk), "kind": "bulletin", "delivery_id": "7"}


def test_a_whole_batch_goes_through_every_provider_backend(provider, settings):
    settings.TOCSIN_SEND_ESP_BATCH = (
        1  # Postmark's batch call is campaigns/sending/transports/postmark.py's own (test_provider_batch.py)
    )
    people = make_list()
    make_people(3, people)
    campaign = make_campaign([people], status="sending")
    from campaigns.models import Delivery, SendBatch
    from campaigns.sending.audience import snapshot
    from campaigns.sending.batching import cut_batches

    snapshot(campaign)
    cut_batches(campaign, size=1000)
    batch = SendBatch.objects.get(campaign=campaign)
    result = engine.run_batch(campaign.pk, batch.first_id, batch.last_id, threads=1)
    assert (result.sent, result.failed) == (3, 0), list(Delivery.objects.values_list("error", flat=True))
    assert [esp for esp, _payload in built] == [provider] * 3


def test_a_staff_test_send_is_accepted_by_every_provider(provider, django_user_model):
    people = make_list()
    campaign = make_campaign([people])
    editor = django_user_model.objects.create_user("editor", "editor@example.org", "x", is_staff=True)
    assert proofs.send_test(campaign=campaign, actor=editor, addresses=["editor@example.org"]) == 1
    assert [esp for esp, _payload in built] == [provider]
