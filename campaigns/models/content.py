"""Articles: what staff write and the site publishes; bulletins are built from them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscribers.models import Language, MailingList


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
