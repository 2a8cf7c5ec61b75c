"""Staff concerns kept in the database: the audit log and API tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.campaigns import Campaign


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
