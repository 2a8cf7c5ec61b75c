"""What happened after sending: delivery events, per-campaign counters, refused webhooks."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.campaigns import Campaign
from campaigns.models.deliveries import Delivery


class DeliveryEvent(models.Model):
    class Kind(models.TextChoices):
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Hard bounce")
        SOFT_BOUNCED = "soft_bounced", _("Soft bounce")
        DEFERRED = "deferred", _("Deferred")
        REJECTED = "rejected", _("Rejected")
        COMPLAINED = "complained", _("Complained")
        OPENED = "opened", _("Opened")
        CLICKED = "clicked", _("Clicked")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        OTHER = "other", _("Other")

    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.CASCADE, related_name="events", verbose_name=_("delivery")
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="events", verbose_name=_("campaign")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    event_id = models.CharField(
        max_length=255,
        unique=True,
        help_text=_("Provider's id, or ours: replays are ignored."),
        verbose_name=_("event id"),
    )
    recipient_hash = models.CharField(max_length=64, blank=True, verbose_name=_("recipient hash"))
    esp_message_id = models.CharField(max_length=255, blank=True, verbose_name=_("provider's message id"))
    reason = models.CharField(max_length=500, blank=True, verbose_name=_("reason"))
    url = models.URLField(max_length=2000, blank=True, verbose_name=_("link"))
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("occurred at"))
    payload = models.JSONField(default=dict, blank=True, verbose_name=_("payload"))

    class Meta:
        verbose_name = _("delivery event")
        verbose_name_plural = _("delivery events")
        indexes = [
            models.Index(fields=["campaign", "kind", "occurred_at"], name="event_campaign_kind_time"),
            # Reports count distinct deliveries per kind: an index-only scan on Postgres.
            models.Index(fields=["campaign", "kind", "delivery"], name="event_campaign_kind_delivery"),
            # Soft-bounce counting looks up one address's recent events.
            models.Index(fields=["recipient_hash", "occurred_at"], name="event_recipient_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.esp_message_id or self.event_id}"


class CampaignStat(models.Model):
    """How many deliveries of a campaign had their first event of a kind in a given hour.

    Written by ``campaigns.events.recording`` when a delivery gets its first event of a
    kind; reports sum these few rows instead of counting distinct deliveries
    over millions of events (a report over 1 million deliveries in under 1 s).
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="stats", verbose_name=_("campaign"))
    kind = models.CharField(max_length=16, choices=DeliveryEvent.Kind.choices, verbose_name=_("kind"))
    hour = models.DateTimeField(help_text=_("Start of the hour (UTC)."), verbose_name=_("hour"))
    count = models.PositiveIntegerField(default=0, verbose_name=_("count"))

    class Meta:
        verbose_name = _("campaign statistic")
        verbose_name_plural = _("campaign statistics")
        constraints = [models.UniqueConstraint(fields=["campaign", "kind", "hour"], name="campaign_stat_unique")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.kind} {self.hour:%Y-%m-%d %H}h: {self.count}"


class RefusedWebhook(models.Model):
    """An authenticated webhook event Tocsin could not use, and why.

    The provider was answered 2xx all the same: every provider retries any
    other answer (Stripe for three days, Postmark and SendGrid for hours), and
    an event that can never be read would come back until it gave up. This row
    is where staff find it instead, with the provider's id to look it up in
    the provider's dashboard. No payload is kept: it holds addresses and names.
    """

    provider = models.CharField(_("provider"), max_length=64)
    event_id = models.CharField(
        _("event id"), max_length=255, blank=True, help_text=_("The provider's id for the event, when it had one.")
    )
    event_type = models.CharField(_("event type"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=500)
    # A hash of the provider and the request body: a replayed event adds no row.
    fingerprint = models.CharField(_("fingerprint"), max_length=64, unique=True, editable=False)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("refused webhook event")
        verbose_name_plural = _("refused webhook events")

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id or self.fingerprint[:12]}: {self.reason[:80]}"
