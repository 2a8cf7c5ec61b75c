"""A/B tests of subjects: the settings staff chose, and how far the test has gone."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from campaigns.models.campaigns import Campaign


class ABTest(models.Model):
    """Two to four subjects tried on a sample of a campaign's audience; the winner goes to the rest.

    The sample and the rest are rows of the one ledger (``Delivery.variant``,
    status ``held``), so nobody gets two. ``campaigns/sending/ab_test.py`` draws
    the sample, waits, trips the circuit breaker or picks the winner.
    """

    class Metric(models.TextChoices):
        CLICKS = "clicks", _("Clicks")
        OPENS = "opens", _("Opens (unreliable: Apple Mail opens every email)")

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="ab_test", verbose_name=_("campaign")
    )
    subjects = models.JSONField(default=list, verbose_name=_("subjects"))
    sample_percent = models.PositiveSmallIntegerField(default=20, verbose_name=_("sample (percent of the audience)"))
    wait_minutes = models.PositiveIntegerField(default=240, verbose_name=_("wait (minutes)"))
    metric = models.CharField(max_length=8, choices=Metric.choices, default=Metric.CLICKS, verbose_name=_("metric"))
    sample_size = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("sample size"))
    sample_sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sample sent at"))
    winner = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("winning variant"))
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("winner chosen at"))
    breaker_tripped_at = models.DateTimeField(null=True, blank=True, verbose_name=_("circuit breaker tripped at"))

    class Meta:
        verbose_name = _("A/B test")
        verbose_name_plural = _("A/B tests")

    def __str__(self) -> str:
        return f"{self.campaign_id}: {len(self.subjects)} subjects"
