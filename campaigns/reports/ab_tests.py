"""An A/B test as staff read it: each subject's sample, its rates, the winner and what is next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import ABTest, Campaign
from campaigns.sending import ab_test


def _percent(count: int, sent: int) -> float | None:
    return 100 * count / sent if sent else None


@dataclass
class ABTestReport:
    test: ABTest
    rows: list[dict[str, Any]]

    @property
    def by_opens(self) -> bool:
        return self.test.metric == ABTest.Metric.OPENS

    @property
    def metric_word(self) -> str:
        return _("opens") if self.by_opens else _("clicks")

    @property
    def winner_at(self) -> datetime | None:
        """When the winner will be chosen (local time), once the sample is out and until it is chosen."""
        if self.test.winner or self.test.sample_sent_at is None:
            return None
        return timezone.localtime(self.test.sample_sent_at + timedelta(minutes=self.test.wait_minutes))

    @property
    def winner(self) -> str | None:
        return next((row["subject"] for row in self.rows if row["winner"]), None)


def ab_test_report(campaign: Campaign) -> ABTestReport | None:
    test = ab_test.find_test(campaign)
    if test is None:
        return None
    rows = []
    for variant in ab_test.variants(test):
        rows.append(
            {
                "letter": chr(ord("A") + variant.number - 1),
                "subject": variant.subject,
                "sent": variant.sent,
                "opens": variant.opens,
                "clicks": variant.clicks,
                "unsubscribes": variant.unsubscribes,
                "complaints": variant.complaints,
                "open_rate": _percent(variant.opens, variant.sent),
                "click_rate": _percent(variant.clicks, variant.sent),
                "unsubscribe_rate": _percent(variant.unsubscribes, variant.sent),
                "complaint_rate": _percent(variant.complaints, variant.sent),
                "winner": variant.number == test.winner,
            }
        )
    return ABTestReport(test=test, rows=rows)
