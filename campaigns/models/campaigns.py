"""A campaign, its language versions and the articles of a bulletin.

Every change of ``Campaign.status`` happens in ``campaigns/lifecycle.py``.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns import merge_fields
from campaigns.models.content import Article
from subscribers.models import Language, MailingList


def new_attribution_code() -> str:
    """A short random code for an appeal's links and the web version's URL."""
    return secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")


class Campaign(models.Model):
    class Kind(models.TextChoices):
        BULLETIN = "bulletin", _("Bulletin")
        ALERT = "alert", _("Urgent alert")
        APPEAL = "appeal", _("Donation appeal")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REVIEW = "review", _("In review")
        APPROVED = "approved", _("Approved")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.BULLETIN, verbose_name=_("kind"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True, verbose_name=_("status")
    )
    subject = models.CharField(max_length=200, verbose_name=_("subject"))
    preheader = models.CharField(max_length=200, blank=True, verbose_name=_("preheader"))
    intro_markdown = models.TextField(blank=True, verbose_name=_("introduction"))
    body_markdown = models.TextField(blank=True, verbose_name=_("text"))
    call_to_action_text = models.CharField(max_length=100, blank=True, verbose_name=_("button text"))
    call_to_action_url = models.URLField(blank=True, verbose_name=_("button link"))
    language = models.CharField(
        max_length=8, choices=Language.choices, default=Language.EN, verbose_name=_("main language")
    )
    from_name = models.CharField(max_length=100, blank=True, verbose_name=_("sender name"))
    from_email = models.EmailField(blank=True, verbose_name=_("sender address"))
    reply_to = models.EmailField(blank=True, verbose_name=_("reply-to address"))
    articles: models.ManyToManyField[Article, CampaignArticle] = models.ManyToManyField(
        Article, through="CampaignArticle", blank=True, related_name="campaigns", verbose_name=_("articles")
    )
    lists = models.ManyToManyField(MailingList, blank=True, related_name="campaigns", verbose_name=_("lists"))
    languages = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Only these languages; empty means all."),
        verbose_name=_("only readers of"),
    )
    signed_up_after = models.DateTimeField(null=True, blank=True, verbose_name=_("signed up after"))
    signed_up_before = models.DateTimeField(null=True, blank=True, verbose_name=_("signed up before"))
    engaged_within_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Only people who opened or clicked a campaign in the last N days (empty: everyone)."),
        verbose_name=_("engaged within (days)"),
    )
    exclude_donors_days = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("days without a gift"))
    # Who an appeal goes to among donors (donations/audience.py); N is exclude_donors_days.
    donor_rule = models.CharField(
        max_length=16,
        choices=[
            ("all", _("Everyone (minus people who gave in the last N days, if N is set)")),
            ("exclude_recent", _("Leave out people who gave in the last N days (default 90)")),
            ("lapsed", _("Only lapsed donors: gave before, not in the last N days (default 365)")),
            ("never", _("Only people who never gave")),
        ],
        default="all",
        help_text=_("Monthly donors are always left out of appeals."),
        verbose_name=_("donors"),
    )
    tracking_enabled = models.BooleanField(default=True, verbose_name=_("count opens and clicks"))
    # Sent by an automation above campaigns (a journey's email step): its ledger
    # grows as people reach the step, so it has no audience snapshot, stays
    # ``sending`` while more may come, and is not listed with the campaigns.
    automated = models.BooleanField(
        default=False,
        editable=False,
        help_text=_("Sent by an automation (a journey's step), person by person."),
        verbose_name=_("automated"),
    )
    # Empty means "as the kind decides" (``in_public_archive``): an alert may
    # name a detained defender, so alerts and appeals stay out unless staff say so.
    public_archive = models.BooleanField(
        _("show in the public archive"),
        null=True,
        blank=True,
        default=None,
        help_text=_("Empty: bulletins are shown once sent; alerts and appeals are not."),
    )
    attribution_code = models.CharField(
        max_length=32, unique=True, default=new_attribution_code, verbose_name=_("attribution code")
    )
    scheduled_at = models.DateTimeField(null=True, blank=True, db_index=True, verbose_name=_("scheduled for"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    status_reason = models.CharField(max_length=300, blank=True, verbose_name=_("reason for the status"))
    # Written with the snapshot (campaigns/sending/frequency.py): before it, the count is live.
    frequency_capped = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("held back by the frequency cap")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("approved by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]
        # Roles (campaigns/staff/roles.py) are built from these.
        permissions = [
            ("send_campaign", _("Can schedule, send, pause, resume and cancel campaigns")),
            ("approve_campaign", _("Can approve campaigns written by someone else")),
        ]

    def __str__(self) -> str:
        # Admin titles, lists and reports: "Hello [name]", not template code.
        return merge_fields.readable(self.subject)

    @property
    def in_public_archive(self) -> bool:
        """Whether the archive lists this campaign once it is sent (the web version's page)."""
        if self.public_archive is None:
            return self.kind == self.Kind.BULLETIN
        return self.public_archive

    @classmethod
    def in_public_archive_q(cls) -> models.Q:
        """``in_public_archive`` as a query filter."""
        return models.Q(public_archive=True) | models.Q(public_archive__isnull=True, kind=cls.Kind.BULLETIN)


class CampaignArticle(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, verbose_name=_("campaign"))
    article = models.ForeignKey(Article, on_delete=models.CASCADE, verbose_name=_("article"))
    position = models.PositiveIntegerField(default=0, verbose_name=_("position"))

    class Meta:
        verbose_name = _("bulletin article")
        verbose_name_plural = _("bulletin articles")
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "article"], name="campaign_article_unique")]

    def __str__(self) -> str:
        # The admin shows this above each article of a bulletin: the full title, which the picker cuts short.
        return str(self.article)


class CampaignTranslation(models.Model):
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="translations", verbose_name=_("campaign")
    )
    language = models.CharField(max_length=8, choices=Language.choices, verbose_name=_("language"))
    subject = models.CharField(max_length=200, verbose_name=_("subject"))
    preheader = models.CharField(max_length=200, blank=True, verbose_name=_("preheader"))
    intro_markdown = models.TextField(blank=True, verbose_name=_("introduction"))
    body_markdown = models.TextField(blank=True, verbose_name=_("text"))
    call_to_action_text = models.CharField(max_length=100, blank=True, verbose_name=_("button text"))

    class Meta:
        verbose_name = _("campaign translation")
        verbose_name_plural = _("campaign translations")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "language"], name="campaign_translation_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_language_display()} · {self.subject}"
