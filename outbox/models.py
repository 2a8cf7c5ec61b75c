from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """One Celery task call waiting to be handed to the broker (``outbox.relay``)."""

    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    # Empty: Celery's routing decides (config/celery.py).
    queue = models.CharField(_("queue"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Set once the broker accepted the message; the row is kept a few days to
    # answer "did that email leave?", then deleted by the relay.
    sent_at = models.DateTimeField(_("handed to the broker"), null=True, blank=True)
    # A relay publishing this row holds it until then under ``claim``.
    claimed_until = models.DateTimeField(_("held by a relay until"), null=True, blank=True)
    claim = models.CharField(_("relay token"), max_length=16, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("task call")
        verbose_name_plural = _("task calls")
        indexes = [
            # The relay's only question, "what is still waiting?", stays cheap
            # however many sent rows the table holds.
            models.Index(fields=["id"], name="outbox_waiting", condition=Q(sent_at__isnull=True)),
            models.Index(fields=["sent_at"], name="outbox_sent_at", condition=Q(sent_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"
