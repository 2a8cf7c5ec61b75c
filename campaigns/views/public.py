"""The public site: article archive and pages, topic pages, the bulletin archive.

An article written in one language and its translations form a group: the
original (``translation_of`` empty) and the rows pointing at it. Lists show
one card per group, in the reader's language when that translation is
published, otherwise the original. Every list page runs a fixed number of
queries however many articles it shows (prefetches, no per-row lookups).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.utils.translation import get_language, get_language_info

from campaigns import merge_fields
from campaigns.models import Article, Campaign
from campaigns.sending.compiling import fallback_name
from config import open_graph
from subscribers.models import Language, MailingList

ARTICLES_PER_PAGE = 20
BULLETINS_PER_PAGE = 30


def reader_language(request: HttpRequest) -> str:
    """The language LocaleMiddleware picked (cookie, Accept-Language), reduced to one we publish in."""
    code = (getattr(request, "LANGUAGE_CODE", None) or get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return code if code in Language.values else settings.LANGUAGE_CODE


def signup_url() -> str:
    """The sign-up page, wherever the subscribers app mounts it."""
    try:
        return reverse("subscribers:signup")
    except NoReverseMatch:
        return "/signup/"


def web_version_url(campaign: Campaign) -> str | None:
    """The "view in browser" page of a sent campaign, or None while that view does not exist."""
    try:
        return reverse("campaigns:web_version", args=[campaign.attribution_code])
    except NoReverseMatch:
        return None


def public_topics() -> QuerySet[MailingList]:
    return MailingList.objects.filter(public=True)


def article_groups() -> QuerySet[Article]:
    """One published row per group, with what a card needs prefetched.

    A published translation whose original is still a draft stands for its
    group, so it is not hidden from the archive.
    """
    published = Article.Status.PUBLISHED
    return (
        Article.objects.filter(status=published)
        .filter(Q(translation_of__isnull=True) | ~Q(translation_of__status=published))
        .prefetch_related(
            Prefetch(
                "translations",
                queryset=Article.objects.filter(status=published).order_by("language", "id"),
                to_attr="published_translations",
            ),
            Prefetch("topics", queryset=public_topics(), to_attr="public_topics"),
        )
        .order_by("-published_at", "-id")
    )


def in_language(article: Article, language: str) -> Article:
    """The version of a group to show to a ``language`` reader: needs ``article_groups()``' prefetch."""
    if article.language == language:
        return article
    for translation in getattr(article, "published_translations", []):
        if translation.language == language:
            # Cards show the original's topics: writers set them once, on the original.
            translation.public_topics = getattr(article, "public_topics", [])
            return translation
    return article


def localize(articles: Iterable[Article], language: str) -> list[Article]:
    return [in_language(article, language) for article in articles]


def _page(request: HttpRequest, queryset: QuerySet, per_page: int) -> Page:
    # get_page() answers page 1 for junk and the last page past the end: no 404 or 500 on ?page=abc.
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def archive(request: HttpRequest) -> HttpResponse:
    page = _page(request, article_groups(), ARTICLES_PER_PAGE)
    language = reader_language(request)
    return render(
        request,
        "articles/archive.html",
        {"page": page, "articles": localize(page.object_list, language)},
    )


@dataclass(frozen=True)
class Version:
    language: str
    language_name: str
    url: str
    is_current: bool


def article_versions(article: Article, *, published_only: bool = True) -> list[Version]:
    """Every version of ``article``'s group (itself included), for the translation links and hreflang."""
    root = article.translation_of or article
    members = [root, *root.translations.order_by("language", "id")]
    if published_only:
        members = [m for m in members if m.status == Article.Status.PUBLISHED or m.pk == article.pk]
    seen: set[str] = set()
    versions = []
    for member in members:
        # Two rows in one language would give two hreflang links for it; the first wins.
        if member.language in seen:
            continue
        seen.add(member.language)
        versions.append(
            Version(
                language=member.language,
                # In its own language: a Spanish reader looks for "Español", not "Spanish".
                language_name=get_language_info(member.language)["name_local"].capitalize(),
                url=member.get_absolute_url(),
                is_current=member.pk == article.pk,
            )
        )
    return versions


def article_description(article: Article) -> str:
    """What social cards and search engines show under the title."""
    text = article.summary.strip() or strip_tags(article.body_html)
    return Truncator(" ".join(text.split())).chars(200)


def render_article(request: HttpRequest, article: Article, *, preview: bool = False) -> HttpResponse:
    versions = article_versions(article, published_only=not preview)
    language = reader_language(request)
    in_reader_language = next(
        (v for v in versions if v.language == language and not v.is_current and article.language != language),
        None,
    )
    root = article.translation_of or article
    x_default = next((v for v in versions if v.url == root.get_absolute_url()), None)
    context = {
        "article": article,
        "versions": versions,
        "other_versions": [v for v in versions if not v.is_current],
        "in_reader_language": in_reader_language,
        "x_default_url": x_default.url if x_default else article.get_absolute_url(),
        "topics": list(article.topics.filter(public=True)) or list(root.topics.filter(public=True)),
        "description": article_description(article),
        "canonical_url": settings.SITE_URL + article.get_absolute_url(),
        # The card is in the article's language, whoever reads it; its translations are the alternates.
        "og_locales": open_graph.og_locales(article.language, [version.language for version in versions]),
        "preview": preview,
        "signup_url": signup_url(),
    }
    response = render(request, "articles/detail.html", context)
    if preview:
        # A draft must never land in a search engine or a shared cache.
        response["X-Robots-Tag"] = "noindex"
        response["Cache-Control"] = "private, no-store"
    return response


def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    article = get_object_or_404(
        Article.objects.select_related("translation_of"), slug=slug, status=Article.Status.PUBLISHED
    )
    return render_article(request, article)


def topic_detail(request: HttpRequest, slug: str) -> HttpResponse:
    topic = get_object_or_404(public_topics(), slug=slug)
    groups = article_groups().filter(Q(topics=topic) | Q(translations__topics=topic)).distinct()
    page = _page(request, groups, ARTICLES_PER_PAGE)
    return render(
        request,
        "topics/detail.html",
        {
            "topic": topic,
            "page": page,
            "articles": localize(page.object_list, reader_language(request)),
            "signup_url": signup_url(),
        },
    )


def topic_index(request: HttpRequest) -> HttpResponse:
    return render(request, "topics/index.html", {"topics": public_topics()})


@dataclass(frozen=True)
class BulletinEntry:
    subject: str
    kind: str
    kind_code: str
    sent_at: datetime
    url: str | None


def sent_bulletins() -> QuerySet[Campaign]:
    """Sent campaigns staff show in the public archive (``Campaign.in_public_archive``)."""
    return (
        Campaign.objects.filter(Campaign.in_public_archive_q(), status=Campaign.Status.SENT)
        .prefetch_related("translations")
        .order_by("-finished_at", "-id")
    )


def bulletin_entry(campaign: Campaign, language: str) -> BulletinEntry:
    subject = campaign.subject
    if campaign.language != language:
        for translation in campaign.translations.all():
            if translation.language == language and translation.subject:
                subject = translation.subject
                break
    return BulletinEntry(
        # As a reader without a name would see it: "Hello friend", never "{{ name }}".
        subject=merge_fields.for_anyone(subject, fallback_name(language)),
        kind=campaign.get_kind_display(),
        kind_code=campaign.kind,
        sent_at=campaign.finished_at or campaign.started_at or campaign.created_at,
        url=web_version_url(campaign),
    )


def bulletins(request: HttpRequest) -> HttpResponse:
    page = _page(request, sent_bulletins(), BULLETINS_PER_PAGE)
    language = reader_language(request)
    return render(
        request,
        "articles/bulletins.html",
        {
            "page": page,
            "bulletins": [bulletin_entry(c, language) for c in page.object_list],
            "signup_url": signup_url(),
        },
    )


def home_context(request: HttpRequest) -> dict[str, object]:
    """What the home page shows: latest articles in the reader's language, topics, latest bulletins."""
    language = reader_language(request)
    return {
        "articles": localize(article_groups()[:6], language),
        "topics": list(public_topics()),
        "bulletins": [bulletin_entry(c, language) for c in sent_bulletins()[:3]],
        "signup_url": signup_url(),
    }
