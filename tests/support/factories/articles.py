"""Articles, topics and sent campaigns for the public-site, feed and admin tests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from campaigns.content.articles import save_article
from campaigns.models import Article, Campaign, CampaignTranslation
from subscribers.models import MailingList
from tests.support.factories.campaigns import CampaignFactory
from tests.support.factories.subscribers import make_list


def make_topic(slug: str = "peru", *, public: bool = True, name: str | None = None) -> MailingList:
    """A list, as the public site shows it: a topic."""
    return make_list(slug, public=public, name=name)


def make_article(
    slug: str = "mine-spill",
    *,
    title: str | None = None,
    body: str = "Residents of **Cajamarca** report a spill.",
    summary: str = "A spill at a mine poisons the river.",
    language: str = "en",
    published: bool = True,
    translation_of: Article | None = None,
    topics: list[MailingList] | None = None,
    days_ago: int = 0,
    lead_image_url: str = "",
    lead_image_alt: str = "",
    source: str = "",
) -> Article:
    article = Article(
        slug=slug,
        title=title or slug.replace("-", " ").capitalize(),
        summary=summary,
        body_markdown=body,
        language=language,
        translation_of=translation_of,
        lead_image_url=lead_image_url,
        lead_image_alt=lead_image_alt,
        source=source,
        status=Article.Status.PUBLISHED if published else Article.Status.DRAFT,
    )
    if published:
        article.published_at = timezone.now() - timedelta(days=days_ago)
    save_article(article=article)
    if topics:
        article.topics.set(topics)
    return article


def make_sent_campaign(
    subject: str = "Bulletin #12",
    *,
    kind: str = Campaign.Kind.BULLETIN,
    status: str = Campaign.Status.SENT,
    translations: dict[str, str] | None = None,
) -> Campaign:
    campaign = CampaignFactory(
        subject=subject,
        body_markdown="",
        kind=kind,
        status=status,
        finished_at=timezone.now() if status == "sent" else None,
    )
    for language, translated_subject in (translations or {}).items():
        CampaignTranslation.objects.create(campaign=campaign, language=language, subject=translated_subject)
    return campaign
