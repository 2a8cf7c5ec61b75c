"""Test emails ("proofs"): the campaign as a reader would get it, sent to staff only."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from campaigns.sending.rendering import CampaignRenderer
from campaigns.staff import audit
from subscribers.models import Subscriber


class TestRecipientRefused(ValueError):
    __test__ = False  # a domain exception, not a pytest class


def staff_addresses() -> list[str]:
    User = get_user_model()
    emails = User.objects.filter(is_active=True, is_staff=True).exclude(email="").values_list("email", flat=True)
    return sorted({email.strip().lower() for email in emails})


def send_test(*, campaign: Campaign, actor: Any, addresses: list[str], language: str | None = None) -> int:
    """Send the campaign, marked [TEST], to staff addresses only; returns how many were sent.

    Only staff addresses: a test send skips approval and the audience rules,
    so it must not become a way to mail anyone else. The message carries no
    campaign metadata and no tracking, so test opens never reach the reports.
    """
    allowed = set(staff_addresses())
    wanted = [address.strip().lower() for address in addresses if address.strip()]
    refused = [address for address in wanted if address not in allowed]
    if refused:
        raise TestRecipientRefused(
            _("Tests go to staff addresses only; not a staff address: %(addresses)s")
            % {"addresses": ", ".join(refused)}
        )
    if not wanted:
        raise TestRecipientRefused(_("Give at least one staff address."))
    renderer = CampaignRenderer(campaign)
    language = language if language in renderer.languages else campaign.language
    name = (getattr(actor, "first_name", "") or "").strip()
    for address in wanted:
        sample = Subscriber(pk=0, email=address, name=name, language=language)
        message = renderer.render(subscriber=sample, language=language, list_ids=list(renderer.lists))
        message.subject = f"[TEST] {message.subject}"
        message.to = [address]
        # Only what the configured provider accepts (see CampaignRenderer).
        if renderer.metadata_allowed:
            message.metadata = {"test": "1"}  # type: ignore[attr-defined]
        message.tags = ["test"]  # type: ignore[attr-defined]
        if renderer.tracking_switch:
            message.track_opens = False  # type: ignore[attr-defined]
            message.track_clicks = False  # type: ignore[attr-defined]
        message.send()
    audit.record(actor=actor, action=audit.TEST_SENT, campaign=campaign, detail=f"[{language}] to {', '.join(wanted)}")
    return len(wanted)
