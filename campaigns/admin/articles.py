"""Article admin: Markdown with a live preview, a publish action, translations and topics.

The body is rendered and sanitised by ``campaigns.content.articles.save_article``,
called from ``save_model`` (not ``Model.save``), so the admin, the demo seed
and any import all go through the same service.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from campaigns.content.articles import (
    article_alt_text_warnings,
    markdown_to_html,
    publish_article,
    save_article,
    unpublish_article,
)
from campaigns.models import Article
from campaigns.views.public import render_article
from subscribers.dates import check_form_dates

# Live-preview requests carry the whole body; refuse absurd sizes instead of rendering them.
MAX_PREVIEW_CHARS = 200_000


class ArticleForm(forms.ModelForm):
    # Declared to pass assume_scheme: a bare "img.example.org/a.jpg" becomes https://, never http://.
    lead_image_url = forms.URLField(
        label=_("Lead image URL"),
        required=False,
        assume_scheme="https",
        max_length=200,
        help_text=_("The full address (https://…) of the image shown on the page and in social cards."),
    )

    class Meta:
        model = Article
        fields = [
            "title",
            "slug",
            "summary",
            "body_markdown",
            "lead_image_url",
            "lead_image_alt",
            "source",
            "topics",
            "language",
            "translation_of",
            "status",
            "published_at",
        ]
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 3}),
            "body_markdown": forms.Textarea(attrs={"rows": 24, "class": "markdown-editor", "spellcheck": "true"}),
        }
        help_texts = {
            "body_markdown": _(
                "Markdown: **bold**, *italic*, [link](https://…), ![describe the image](https://…/photo.jpg), "
                "## heading, > quote, - list. Scripts and embedded code are removed."
            ),
            "lead_image_alt": _("Describe the image for people who cannot see it."),
            "translation_of": _("If this article is a translation, the original it translates."),
            "topics": _("Readers find the article on these topic pages."),
            "published_at": _("Filled in the first time the article is published."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        check_form_dates(self)
        if "translation_of" in self.fields:
            # Only originals: a translation of a translation would split one group in two.
            originals = Article.objects.filter(translation_of__isnull=True)
            if self.instance.pk:
                originals = originals.exclude(pk=self.instance.pk)
            translation_of = self.fields["translation_of"]
            assert isinstance(translation_of, forms.ModelChoiceField)
            translation_of.queryset = originals.order_by("-created_at")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        original = cleaned.get("translation_of")
        language = cleaned.get("language")
        if original is not None and language:
            if original.language == language:
                self.add_error("language", _("A translation must be in another language than its original."))
            siblings = original.translations.filter(language=language)
            if self.instance.pk:
                siblings = siblings.exclude(pk=self.instance.pk)
            if siblings.exists():
                self.add_error("language", _("This article already has a translation in that language."))
            if self.instance.pk and self.instance.translations.exists():
                self.add_error(
                    "translation_of", _("This article has translations of its own, so it must stay an original.")
                )
        if cleaned.get("lead_image_alt") and not cleaned.get("lead_image_url"):
            self.add_error("lead_image_url", _("Alt text is set but there is no image."))
        return cleaned


class TranslationInline(admin.TabularInline):
    model = Article
    fk_name = "translation_of"
    fields = ["title", "language", "status", "published_at"]
    readonly_fields = ["title", "language", "status", "published_at"]
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = _("translation")
    verbose_name_plural = _("translations")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    titles = {"add": _("Add an article"), "change": _("Edit article"), "view": _("View article")}
    form = ArticleForm
    list_display = ["title", "language", "status_badge", "published_date", "translation_column", "preview_link"]
    list_display_links = ["title"]
    list_filter = ["status", "language", "published_at", "topics"]
    search_fields = ["title", "slug", "summary", "body_markdown", "source"]
    prepopulated_fields = {"slug": ["title"]}
    list_select_related = ["translation_of"]
    date_hierarchy = "published_at"
    ordering = ["-created_at"]
    actions = ["publish_selected", "unpublish_selected"]
    inlines = [TranslationInline]
    readonly_fields = ["preview_link", "author", "updated_at"]
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}
    fieldsets = [
        (None, {"fields": ["title", "slug", "summary", "body_markdown"]}),
        (_("Lead image"), {"fields": ["lead_image_url", "lead_image_alt"]}),
        (_("Where it belongs"), {"fields": ["source", "topics", "language", "translation_of"]}),
        (_("Publication"), {"fields": ["status", "published_at", "preview_link", "author", "updated_at"]}),
    ]

    class Media:
        css = {"all": ["tocsin/admin-article.css"]}
        js = ["tocsin/admin-article.js"]

    # --- columns and read-only fields ----------------------------------------
    @admin.display(description=_("Status"), ordering="status")
    def status_badge(self, obj: Article) -> str:
        return format_html(
            '<span class="article-status article-status-{}">{}</span>', obj.status, obj.get_status_display()
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        return super().get_queryset(request).prefetch_related("translations")

    @admin.display(description=_("Published"), ordering="published_at")
    def published_date(self, obj: Article) -> str:
        return date_format(timezone.localtime(obj.published_at)) if obj.published_at else "—"

    @admin.display(description=_("Translations"))
    def translation_column(self, obj: Article) -> str:
        if obj.translation_of_id and obj.translation_of is not None:
            return format_html(
                "↳ {} ({})", Truncator(str(obj.translation_of)).chars(24), obj.translation_of.language.upper()
            )
        return " · ".join(sorted(t.language.upper() for t in obj.translations.all())) or "—"

    @admin.display(description=_("Preview"))
    def preview_link(self, obj: Article) -> str:
        if not obj.pk:
            return str(_("Save the article to preview it."))
        url = reverse("admin:campaigns_article_preview", args=[obj.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, _("Preview"))

    def view_on_site(self, obj: Article) -> str:  # type: ignore[override]
        # Drafts are 404 to the public: "view on site" would be a dead end for them.
        if obj.is_published:
            return obj.get_absolute_url()
        return reverse("admin:campaigns_article_preview", args=[obj.pk])

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "body_markdown" and field is not None:
            field.widget.attrs["data-preview-url"] = reverse("admin:campaigns_article_render_markdown")
            field.widget.attrs["data-preview-label"] = str(_("Preview (as readers will see it)"))
        return field

    # --- saving ----------------------------------------------------------------
    def save_model(self, request: HttpRequest, obj: Article, form: forms.ModelForm, change: bool) -> None:
        if not change and obj.author_id is None:
            obj.author = request.user  # type: ignore[assignment]
        save_article(article=obj)
        for warning in article_alt_text_warnings(obj):
            messages.warning(request, warning)

    @admin.action(description=_("Publish the selected articles"), permissions=["change"])
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        count = 0
        for article in queryset.exclude(status=Article.Status.PUBLISHED):
            publish_article(article=article)
            count += 1
            for warning in article_alt_text_warnings(article):
                messages.warning(request, f"{article.title}: {warning}")
        self.message_user(
            request,
            ngettext("%(count)d article published.", "%(count)d articles published.", count) % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Unpublish the selected articles (back to draft)"), permissions=["change"])
    def unpublish_selected(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        count = 0
        for article in queryset.filter(status=Article.Status.PUBLISHED):
            unpublish_article(article=article)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d article unpublished.", "%(count)d articles unpublished.", count) % {"count": count},
            messages.SUCCESS,
        )

    # --- extra views -----------------------------------------------------------
    def get_urls(self) -> list[Any]:
        extra = [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="campaigns_article_preview",
            ),
            path(
                "render-markdown/",
                self.admin_site.admin_view(require_POST(self.render_markdown_view)),
                name="campaigns_article_render_markdown",
            ),
        ]
        return extra + super().get_urls()

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        article = get_object_or_404(Article.objects.select_related("translation_of"), pk=pk)
        if not self.has_view_permission(request, article):
            raise PermissionDenied
        return render_article(request, article, preview=True)

    def render_markdown_view(self, request: HttpRequest) -> JsonResponse:
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        text = request.POST.get("body_markdown", "")
        if len(text) > MAX_PREVIEW_CHARS:
            return JsonResponse({"error": str(_("Too long to preview."))}, status=413)
        return JsonResponse({"html": markdown_to_html(text)})
