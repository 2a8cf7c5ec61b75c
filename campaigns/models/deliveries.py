"""The delivery ledger: one ``Delivery`` row per recipient, and the ``SendBatch`` ranges it is sent in.

The ledger, not the broker, says what was sent (``campaigns/sending/ledger.py``).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.campaigns import Campaign
from subscribers.models import Subscriber


class Delivery(models.Model):
    """One recipient of one campaign: the ledger that makes sending idempotent."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown (worker died mid-send)")
        SKIPPED = "skipped", _("Skipped (left before sending)")
        # An A/B test's rest of the audience: queued once the winner is known (campaigns/sending/ab_test.py).
        HELD = "held", _("Held for the A/B test's winner")

    # No index of its own: the unique (campaign, subscriber) and the (campaign,
    # status, id) indexes cover it, and every ledger update pays for each index.
    # No foreign-key constraints in the database either (db_constraint=False):
    # the snapshot writes a million rows straight from the subscriber table in
    # one statement, and checking each row against it again (a row lock per
    # subscriber) doubled the snapshot's time. Deleting a campaign or a
    # subscriber still deletes their deliveries: Django cascades, not the database.
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
        db_constraint=False,
        verbose_name=_("campaign"),
    )
    subscriber = models.ForeignKey(
        Subscriber,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
        verbose_name=_("subscriber"),
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, verbose_name=_("status"))
    language = models.CharField(max_length=8, blank=True, verbose_name=_("language"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    esp_message_id = models.CharField(max_length=255, blank=True, verbose_name=_("provider's message id"))
    error = models.CharField(max_length=500, blank=True, verbose_name=_("error"))
    # The A/B test's subject this person got in the sample (1 = the first); empty for everyone else.
    variant = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("A/B variant"))

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [models.UniqueConstraint(fields=["campaign", "subscriber"], name="delivery_unique")]
        indexes = [
            # id last: a batch reads its queued rows in id order from one index
            # range (campaigns/sending/batching.py: queued_rows), never by walking every
            # queued row of the campaign and sorting them.
            models.Index(fields=["campaign", "status", "id"], name="delivery_campaign_status_id"),
            # Webhook events are matched by exact id; a Meta index skips the
            # extra LIKE-pattern index Postgres gets for db_index=True. Partial:
            # a queued or in-flight row has no id yet, so the snapshot and each
            # claim write nothing to it (a lookup by a non-empty id implies it).
            models.Index(
                fields=["esp_message_id"], name="delivery_esp_message_id", condition=models.Q(esp_message_id__gt="")
            ),
            # The frequency cap counts what each person received in a recent window
            # (campaigns/sending/frequency.py): one range scan of this index, only
            # of sent rows, instead of the whole ledger.
            models.Index(
                fields=["sent_at", "subscriber"], name="delivery_sent_recently", condition=models.Q(status="sent")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.subscriber_id} ({self.status})"


class SendBatch(models.Model):
    """A keyset range of one campaign's deliveries, handed to one Celery task at a time.

    The lease is what lets the sweeper tell a live batch from one whose worker
    died (re-queue it) without relying on Redis's visibility timeout.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="batches", verbose_name=_("campaign"))
    first_id = models.BigIntegerField(verbose_name=_("first delivery id"))
    last_id = models.BigIntegerField(verbose_name=_("last delivery id"))
    size = models.PositiveIntegerField(default=0, verbose_name=_("size"))
    done = models.BooleanField(default=False, verbose_name=_("done"))
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("leased until"))
    lease_token = models.CharField(max_length=32, blank=True, verbose_name=_("lease token"))
    failures = models.PositiveSmallIntegerField(
        default=0, help_text=_("Consecutive transport failures."), verbose_name=_("failures")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("send batch")
        verbose_name_plural = _("send batches")
        indexes = [models.Index(fields=["campaign", "done", "lease_until"], name="sendbatch_pending")]

    def __str__(self) -> str:
        return f"{self.campaign_id} [{self.first_id}..{self.last_id}]"


class DeliveryCount(models.Model):
    """How many of a campaign's deliveries are in one status, as one writer connection changed them.

    Kept by PostgreSQL triggers on the ledger (``campaigns/counters.py``), in
    the statement that changes the rows, so no write path can forget it; a
    campaign's count per status is the sum over its shards. ``shard`` is the
    writing connection's backend pid: no two open transactions share a row,
    so workers never wait on each other's counters. A shard's count may be
    negative (one worker claimed what the snapshot's connection counted).
    """

    # No constraint, no cascade: the triggers write here while Django deletes a
    # campaign's deliveries, after it would have deleted these; counters.py
    # deletes a deleted campaign's rows last.
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the unique (campaign, status, shard) serves it
        related_name="+",
        verbose_name=_("campaign"),
    )
    status = models.CharField(max_length=16, choices=Delivery.Status.choices, verbose_name=_("status"))
    shard = models.IntegerField(verbose_name=_("shard"))
    count = models.BigIntegerField(default=0, verbose_name=_("count"))

    class Meta:
        verbose_name = _("delivery count")
        verbose_name_plural = _("delivery counts")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "status", "shard"], name="delivery_count_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.status} [{self.shard}]: {self.count}"


# How many of each person's latest sent emails RecentSends keeps: a cap of up to
# RECENT_SENDS emails per window is read from it (up to RECENT_SENDS - 1 for a
# re-run snapshot, which leaves the campaign's own earlier send out).
RECENT_SENDS = 8


class RecentSends(models.Model):
    """Each person's latest ``RECENT_SENDS`` sent emails (time and campaign), in time order, newest in slot 1.

    One row per person who ever received an email, kept by
    ``campaigns/sending/frequency.py`` (``note_batch``): the frequency cap
    counts a person's slots in its window instead of grouping the window's
    delivery rows (seconds at 1M subscribers). Rolling the ledger up leaves
    it alone, so sends stay counted after their rows are gone.
    """

    subscriber = models.OneToOneField(
        Subscriber,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="recent_sends",
        db_constraint=False,  # as the ledger's: the send path writes here, and erasure deletes the row
        verbose_name=_("subscriber"),
    )

    class Meta:
        verbose_name = _("recent sends")
        verbose_name_plural = _("recent sends")

    def __str__(self) -> str:
        return f"{self.subscriber_id}: recent sends"


for _slot in range(1, RECENT_SENDS + 1):
    # Slot 1 is the newest; the columns are read by SQL only (frequency.py), never shown one by one.
    RecentSends.add_to_class(f"sent_{_slot}", models.DateTimeField(null=True, blank=True, verbose_name=_("sent at")))
    RecentSends.add_to_class(
        f"campaign_{_slot}", models.BigIntegerField(null=True, blank=True, verbose_name=_("campaign"))
    )
