"""The letters' ledger: one ``Letter`` row per supporter and target, one ``LetterDigest`` per target and day.

A letter is written ``pending`` at signing, in the same transaction as the
signature, and goes through ``actions/sending/`` with the discipline of
campaigns' sending engine: claimed (``pending → sending``) by a conditional
UPDATE that is committed before the message goes on the wire, sent outside
any transaction, its outcome recorded after. A worker killed mid-send leaves
at most the letter it was sending in ``sending``; the sweeper calls it
``unknown`` and nothing sends it again. Unique per (signature, target): a
target never gets the same supporter's letter twice, whatever retries or
double submissions happen. Letters to a target marked "do not email" are
written ``by_hand``: staff deliver them on paper.

An action in digest mode gathers each target's letters of the day into one
``LetterDigest`` (unique per action, target and day), which goes through the
same claim → send → record steps; its letters follow its status.

Defined here, not in ``actions/models.py`` (which imports them), to keep
each module short; the foreign keys name their models as strings.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LetterStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Unknown (worker died mid-send)")
    SKIPPED = "skipped", _("Skipped")
    BY_HAND = "by_hand", _("For delivery by hand")


class _Sendable(models.Model):
    """What the sending steps read and write on a letter or a digest (as on campaigns' Delivery)."""

    status = models.CharField(_("status"), max_length=16, choices=LetterStatus.choices, default=LetterStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # Not before: the back-off after a transient failure, or the next day once the daily cap is reached.
    not_before = models.DateTimeField(_("not before"), null=True, blank=True)
    # Handed to a task until then; after it lapses (the task was lost) the sweeper queues the row again.
    lease_until = models.DateTimeField(_("queued until"), null=True, blank=True)
    esp_message_id = models.CharField(_("provider message id"), max_length=255, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        abstract = True


class LetterDigest(_Sendable):
    """One email to one target listing the letters of one action and one day (digest mode)."""

    Status = LetterStatus

    action = models.ForeignKey(
        "actions.Action", on_delete=models.CASCADE, related_name="digests", db_index=False, verbose_name=_("action")
    )
    target = models.ForeignKey(
        "actions.Target", on_delete=models.PROTECT, related_name="digests", verbose_name=_("target")
    )
    day = models.DateField(_("day"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["action", "target", "day"], name="digest_once_per_day")]
        indexes = [
            models.Index(
                fields=["id"], name="digest_unfinished", condition=models.Q(status__in=["pending", "sending"])
            ),
        ]
        verbose_name = _("letter digest")
        verbose_name_plural = _("letter digests")

    def __str__(self) -> str:
        return f"{self.action_id} → {self.target_id} on {self.day} ({self.status})"


class Letter(_Sendable):
    """One supporter's letter to one target."""

    Status = LetterStatus

    # The action again (it is the signature's): reports and the admin read one
    # action's letters by status from the (action, status, id) index.
    action = models.ForeignKey(
        "actions.Action", on_delete=models.CASCADE, related_name="letters", db_index=False, verbose_name=_("action")
    )
    signature = models.ForeignKey(
        "actions.Signature",
        on_delete=models.CASCADE,
        related_name="letters",
        db_index=False,
        verbose_name=_("signature"),
    )
    target = models.ForeignKey(
        "actions.Target", on_delete=models.PROTECT, related_name="letters", verbose_name=_("target")
    )
    # Test mode, frozen at signing: this letter goes here, never to the target.
    test_to = models.EmailField(_("test address"), blank=True)
    digest = models.ForeignKey(
        LetterDigest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="letters",
        verbose_name=_("digest"),
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["signature", "target"], name="letter_once_per_target")]
        indexes = [
            models.Index(fields=["action", "status", "id"], name="letter_action_status_id"),
            models.Index(
                fields=["esp_message_id"], name="letter_esp_message_id", condition=models.Q(esp_message_id__gt="")
            ),
            # The sweeper's scan for letters still to send stays small however many were sent.
            models.Index(
                fields=["id"], name="letter_unfinished", condition=models.Q(status__in=["pending", "sending"])
            ),
            # The daily caps count a target's letters of one day (claims.emails_today), at every
            # capped claim: a minister with 100,000 letters is read one day at a time.
            models.Index(
                fields=["target", "claimed_at"],
                name="letter_target_day",
                condition=models.Q(claimed_at__isnull=False),
            ),
        ]
        verbose_name = _("letter")
        verbose_name_plural = _("letters")

    def __str__(self) -> str:
        return f"{self.signature_id} → {self.target_id} ({self.status})"


class LetterBounce(models.Model):
    """One returned message about a letter or a digest (a bounce or complaint to its VERP address), kept once.

    Unique on the returned message (its Message-ID, else its bytes) and the row
    it names: a bounce read twice from a mailbox counts once.
    """

    class Kind(models.TextChoices):
        HARD = "hard", _("Hard bounce")
        SOFT = "soft", _("Soft bounce")
        COMPLAINT = "complaint", _("Complaint")
        DELAYED = "delayed", _("Delayed")

    event_id = models.CharField(_("returned message"), max_length=255, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    target = models.ForeignKey(
        "actions.Target", on_delete=models.CASCADE, related_name="bounces", verbose_name=_("target")
    )
    letter = models.ForeignKey(
        Letter, null=True, blank=True, on_delete=models.SET_NULL, related_name="bounces", verbose_name=_("letter")
    )
    digest = models.ForeignKey(
        LetterDigest, null=True, blank=True, on_delete=models.SET_NULL, related_name="bounces", verbose_name=_("digest")
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("returned letter")
        verbose_name_plural = _("returned letters")

    def __str__(self) -> str:
        # Shown above the row in the target's page: which letter or digest came back.
        if self.letter_id:
            return _("%(kind)s of letter %(id)d") % {"kind": self.get_kind_display(), "id": self.letter_id}
        if self.digest_id:
            return _("%(kind)s of digest %(id)d") % {"kind": self.get_kind_display(), "id": self.digest_id}
        return str(self.get_kind_display())
