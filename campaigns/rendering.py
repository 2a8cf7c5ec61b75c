"""One Delivery -> one email message.

``CampaignRenderer`` is built once per campaign (templates compiled, CSS
inlined once per language version) and then renders each recipient cheaply.
"""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives

from campaigns.models import Campaign
from subscribers.models import Subscriber
from subscribers.tokens import list_unsubscribe_headers


class CampaignRenderer:
    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign

    def render(self, *, subscriber: Subscriber, delivery_id: int | None = None) -> EmailMultiAlternatives:
        """The personalised message for one recipient (placeholder until the real template lands)."""
        message = EmailMultiAlternatives(
            subject=self.campaign.subject,
            body=self.campaign.body_markdown,
            to=[subscriber.email],
            headers=list_unsubscribe_headers(subscriber),
        )
        return message
