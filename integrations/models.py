"""Outgoing webhooks: the endpoints an organisation's CRM listens on, and one row per message to each.

A ``WebhookDelivery`` row is the outbox: it is written in the transaction of
the change it reports (a person confirmed, a gift recorded…), so a crash
before the commit loses both and a crash after it loses neither. Sending
reads the row; nothing about a delivery lives only in the broker.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Endpoint(models.Model):
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Event names (integrations/events.py); a delivery is written only for these.
    events = models.JSONField(_("events"), default=list)
    # "whsec_" + base64 of 32 random bytes, as Standard Webhooks spells it. Kept
    # in clear: signing needs it, and staff copy it into the receiving system.
    secret = models.CharField(_("signing secret"), max_length=100)
    # After a rotation the old secret signs too (a second v1 signature), until
    # previous_secret_until: the receiver switches without losing a delivery.
    previous_secret = models.CharField(_("previous signing secret"), max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(_("previous secret signs until"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("why it was disabled"), max_length=300, blank=True)
    # Start of the current run of failed attempts; cleared by any success.
    # An endpoint failing for TOCSIN_WEBHOOK_GIVE_UP_HOURS is disabled.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url

    def signing_secrets(self, *, at: datetime) -> list[str]:
        """Secrets signing an attempt at ``at``: the current one, and the previous one during its grace period."""
        if self.previous_secret and self.previous_secret_until and at < self.previous_secret_until:
            return [self.secret, self.previous_secret]
        return [self.secret]


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    event_type = models.CharField(_("event"), max_length=50)
    # The person the event is about, when there is one: their access export
    # lists these rows and their erasure scrubs them (integrations/people.py).
    subscriber = models.ForeignKey(
        "subscribers.Subscriber",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )
    # The webhook-id header: the same on every attempt, so the receiver can
    # ignore a repeat (delivery is at least once).
    message_id = models.CharField(_("message id"), max_length=40, unique=True)
    # The JSON body, serialised once: every attempt sends the same bytes.
    body = models.TextField(_("body"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # Pending: when the next attempt is due. While an attempt runs it is pushed
    # past that attempt's longest possible duration: a worker killed mid-send
    # leaves the row due again a little later, and the sweep sends it again.
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    # Set while a task for this row sits in the broker, so the sweep does not
    # queue it twice; a task lost with the broker is requeued after it.
    queued_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("last HTTP status"), null=True, blank=True)
    last_response = models.TextField(_("last response"), blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweep's question, "which pending rows are due?", stays cheap
            # however many delivered rows the table keeps.
            models.Index(fields=["next_attempt_at"], name="webhook_due", condition=Q(status="pending")),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_by_endpoint"),
            # The hourly purge of old rows.
            models.Index(fields=["created_at"], name="webhook_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} ({self.message_id})"
