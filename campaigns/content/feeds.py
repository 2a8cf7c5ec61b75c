"""The Atom feed of published articles, with their full sanitised content.

Every link in it is absolute with SITE_URL (not the Host header of whoever
fetched it): feed readers and aggregators copy these URLs around.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from campaigns.models import Article
from subscribers.models import Language, MailingList

FEED_SIZE = 30


class AtomWithContent(Atom1Feed):
    """Atom1Feed plus ``<content type="html">``: Django's only writes the summary."""

    def add_item_elements(self, handler, item):  # type: ignore[no-untyped-def]
        super().add_item_elements(handler, item)
        if item.get("content"):
            attrs = {"type": "html"}
            if item.get("content_language"):
                attrs["xml:lang"] = item["content_language"]
            handler.addQuickElement("content", item["content"], attrs)


class ArticlesFeed(Feed):
    feed_type = AtomWithContent

    def get_object(self, request: HttpRequest, language: str | None = None) -> str | None:  # type: ignore[override]
        if language is not None and language not in Language.values:
            raise Http404
        return language

    def get_feed(self, obj: str | None, request: HttpRequest):  # type: ignore[no-untyped-def]
        feed = super().get_feed(obj, request)
        # Django would label the feed with the requester's UI language; a language
        # feed is in that language, and the mixed one in the site's default.
        feed.feed["language"] = obj or settings.LANGUAGE_CODE
        return feed

    def title(self, language: str | None) -> str:
        return f"{settings.TOCSIN_ORG_NAME} — {_('Articles')}"

    def subtitle(self, language: str | None) -> str:
        return _("Articles published by %(org)s.") % {"org": settings.TOCSIN_ORG_NAME}

    def link(self, language: str | None) -> str:
        return settings.SITE_URL + reverse("campaigns:archive")

    def feed_url(self, language: str | None) -> str:
        if language:
            return settings.SITE_URL + reverse("campaigns:feed_language", args=[language])
        return settings.SITE_URL + reverse("campaigns:feed")

    def feed_guid(self, language: str | None) -> str:
        return self.feed_url(language)

    def items(self, language: str | None) -> QuerySet[Article]:
        articles = Article.objects.filter(status=Article.Status.PUBLISHED).prefetch_related(
            Prefetch("topics", queryset=MailingList.objects.filter(public=True), to_attr="public_topics")
        )
        if language:
            articles = articles.filter(language=language)
        return articles.order_by("-published_at", "-id")[:FEED_SIZE]

    def item_title(self, item: Article) -> str:
        return item.title

    def item_description(self, item: Article) -> str:
        return item.summary

    def item_link(self, item: Article) -> str:
        return settings.SITE_URL + item.get_absolute_url()

    def item_guid(self, item: Article) -> str:
        # The slug can be edited after publication; the id cannot, so readers never see an entry twice.
        # A tag: URI (RFC 4151) is the stable, globally unique id Atom asks for.
        host = urlsplit(settings.SITE_URL).hostname or "localhost"
        return f"tag:{host},2024:article:{item.pk}"

    def item_guid_is_permalink(self, item: Article) -> bool:
        return False

    def item_pubdate(self, item: Article) -> datetime | None:
        return item.published_at

    def item_updateddate(self, item: Article) -> datetime | None:
        return item.updated_at

    def item_author_name(self, item: Article) -> str | None:
        return item.source or None

    def item_categories(self, item: Article) -> list[str]:
        return [topic.name_in(item.language) for topic in getattr(item, "public_topics", [])]

    def item_extra_kwargs(self, item: Article) -> dict[str, str]:
        return {"content": item.body_html, "content_language": item.language}
