"""The ledger after a campaign: its figures and each person's engagement, once its rows are rolled up.

Written by ``campaigns/rollup/rolling.py``; read by the reports, the API's
counts, engagement segments and the person's admin history.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.campaigns import Campaign
from campaigns.models.deliveries import Delivery
from campaigns.models.events import DeliveryEvent
from subscribers.models import Subscriber

# What puts a delivery on its campaign's problem list: a send that failed or
# may not have happened, or an event saying the mail did not reach or was
# unwelcome. The report reads the list by these; the roll-up keeps its lines.
PROBLEM_STATUSES = [Delivery.Status.FAILED, Delivery.Status.UNKNOWN]
PROBLEM_KINDS = [
    DeliveryEvent.Kind.BOUNCED,
    DeliveryEvent.Kind.SOFT_BOUNCED,
    DeliveryEvent.Kind.REJECTED,
    DeliveryEvent.Kind.COMPLAINED,
]


class RolledUpCampaign(models.Model):
    """A finished campaign whose delivery rows were rolled up and deleted (campaigns/rollup/).

    Written once, before the first row goes, from the ledger as it stood: the
    exact figures every report reads for this campaign from then on. Event
    counts per kind and hour stay in ``CampaignStat``.
    """

    campaign = models.OneToOneField(
        Campaign, primary_key=True, on_delete=models.CASCADE, related_name="rollup", verbose_name=_("campaign")
    )
    statuses = models.JSONField(default=dict, verbose_name=_("deliveries per status"))
    unique = models.JSONField(default=dict, verbose_name=_("deliveries per event kind"))
    untracked_recipients = models.PositiveIntegerField(default=0, verbose_name=_("recipients not tracked"))
    first_sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("first sent at"))
    top_links = models.JSONField(default=list, verbose_name=_("top links"))
    started_at = models.DateTimeField(default=timezone.now, verbose_name=_("roll-up started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("roll-up finished at"))

    class Meta:
        verbose_name = _("rolled-up campaign")
        verbose_name_plural = _("rolled-up campaigns")

    def __str__(self) -> str:
        return f"{self.campaign_id} rolled up"


class PersonEngagement(models.Model):
    """What the rolled-up deliveries said about one person: the admin's history and engagement segments read it."""

    subscriber = models.OneToOneField(
        Subscriber,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="rolled_up_engagement",
        verbose_name=_("subscriber"),
    )
    campaigns_received = models.PositiveIntegerField(default=0, verbose_name=_("campaigns received"))
    last_received_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last received"))
    last_opened_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last opened"))
    last_clicked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last clicked"))

    class Meta:
        verbose_name = _("rolled-up engagement")
        verbose_name_plural = _("rolled-up engagement")

    def __str__(self) -> str:
        return f"{self.subscriber_id}: {self.campaigns_received} campaigns"


class RolledUpProblem(models.Model):
    """A line of a rolled-up campaign's problem list: a send that failed, bounced, was refused or complained.

    Its own small table, not kept ``Delivery`` rows: the ledger's counters and
    ``RolledUpCampaign`` already hold these deliveries' figures, so rows left in
    the ledger would be counted twice (see campaigns/rollup/). The person is a
    reference, never a copied address: erasure replaces the address on the
    subscriber and scrubs it from the reasons here (campaigns/people.py).
    """

    # The delivery's own id: the list keeps its order, and a resumed roll-up cannot add a line twice.
    delivery_id = models.BigIntegerField(primary_key=True, verbose_name=_("delivery"))
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="rolled_up_problems",
        db_index=False,  # the (campaign, delivery_id) index serves it
        verbose_name=_("campaign"),
    )
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="rolled_up_problems", verbose_name=_("subscriber")
    )
    status = models.CharField(max_length=16, choices=Delivery.Status.choices, verbose_name=_("status"))
    # The latest problem event's kind and reason, as the live list shows them.
    event_kind = models.CharField(
        max_length=16, choices=DeliveryEvent.Kind.choices, blank=True, verbose_name=_("event")
    )
    event_reason = models.CharField(max_length=500, blank=True, verbose_name=_("reason"))
    error = models.CharField(max_length=500, blank=True, verbose_name=_("error"))
    occurred_at = models.DateTimeField(null=True, blank=True, verbose_name=_("when"))

    class Meta:
        verbose_name = _("rolled-up problem")
        verbose_name_plural = _("rolled-up problems")
        indexes = [models.Index(fields=["campaign", "delivery_id"], name="rolledupproblem_campaign")]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.subscriber_id} ({self.status} {self.event_kind})"
