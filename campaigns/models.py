"""Articles, campaigns, and the per-recipient delivery ledger.

The pipeline that uses these models has one module per step:
``recipients.py`` (audience snapshot) → ``batching.py`` → ``rendering.py`` →
``sending.py`` → ``events.py``; ``tasks.py`` only wires them to Celery.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns import merge_fields
from subscribers.models import Language, MailingList, Subscriber


def _attribution_code() -> str:
    return secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    title = models.CharField(max_length=200, verbose_name=_("title"))
    slug = models.SlugField(max_length=200, unique=True, verbose_name=_("slug"))
    summary = models.TextField(blank=True, verbose_name=_("summary"))
    body_markdown = models.TextField(blank=True, verbose_name=_("text"))
    body_html = models.TextField(
        blank=True, editable=False, help_text=_("Sanitised HTML rendered from the body."), verbose_name=_("HTML")
    )
    lead_image_url = models.URLField(blank=True, verbose_name=_("lead image address"))
    lead_image_alt = models.CharField(max_length=300, blank=True, verbose_name=_("lead image description"))
    source = models.CharField(
        max_length=200, blank=True, help_text=_("Source or author line."), verbose_name=_("source")
    )
    topics = models.ManyToManyField(MailingList, blank=True, related_name="articles", verbose_name=_("topics"))
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.EN, verbose_name=_("language"))
    translation_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="translations",
        verbose_name=_("translation of"),
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True, verbose_name=_("status")
    )
    published_at = models.DateTimeField(null=True, blank=True, db_index=True, verbose_name=_("published at"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("author")
    )

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("campaigns:article", args=[self.slug])

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


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
        max_length=32, unique=True, default=_attribution_code, verbose_name=_("attribution code")
    )
    scheduled_at = models.DateTimeField(null=True, blank=True, db_index=True, verbose_name=_("scheduled for"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    status_reason = models.CharField(max_length=300, blank=True, verbose_name=_("reason for the status"))
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


class Delivery(models.Model):
    """One recipient of one campaign: the ledger that makes sending idempotent."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown (worker died mid-send)")
        SKIPPED = "skipped", _("Skipped (left before sending)")

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
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.subscriber_id} ({self.status})"


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


class AuditLog(models.Model):
    """Who did what to which campaign (or export), and when."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("staff member")
    )
    action = models.CharField(max_length=40, verbose_name=_("action"))
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit", verbose_name=_("campaign")
    )
    detail = models.TextField(blank=True, verbose_name=_("detail"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("when"))

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"


class ApiToken(models.Model):
    """A bearer token for the JSON API; acts with its user's permissions.

    Only a SHA-256 of the token is stored: a leaked database backup must not
    hand out working credentials. The token itself is shown once, at creation.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("staff account")
    )
    name = models.CharField(max_length=100, blank=True, verbose_name=_("name"))
    key_hash = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("key hash"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return self.name or f"token #{self.pk}"


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
