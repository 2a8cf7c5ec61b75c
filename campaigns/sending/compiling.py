"""Compiling one language version of a campaign: templates rendered and CSS inlined once, split at slots.

For each language version ``Compiler`` renders the Django templates and
inlines the CSS exactly once, with sentinel markers ("slots") where the
personal parts go: the name, the unsubscribe / preference / web-version
links, the footer reason, each trackable link, and the blocks the apps above
campaigns register (``campaigns/sending/plugins.py``). The result is split at
those markers (``Template``), so that filling it in for one reader
(``rendering.py``) is one ``join``: no template rendering and no CSS
inlining happen per recipient.

Staff Markdown is never evaluated as a Django template (a phished staff
account must not be able to reach template tags or object attributes): only
the name merge fields are recognised, with the regular expressions of
``campaigns.merge_fields``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from campaigns import merge_fields
from campaigns.content.articles import markdown_to_html
from campaigns.content.plaintext import markdown_to_text
from campaigns.models import Article, Campaign, CampaignArticle, CampaignTranslation
from campaigns.sending import personal_links
from campaigns.sending.plugins import BlockSource, RecipientBlock
from campaigns.sending.slots import INLINER, SLOT, STYLE, Template, link_slots, one_line, tidy_text
from config import open_graph

ATTRIBUTION_PARAMS = ("utm_source", "utm_medium", "utm_campaign", "tocsin_ref")

# The word that stands in for a missing name. Kept here as well as in the
# .po files: a greeting of "Hola friend" is worse than a missing translation.
_FALLBACK_NAMES = {"en": "friend", "es": "amigo/a", "fr": "ami·e"}


def fallback_name(language: str) -> str:
    with translation.override(language):
        word = pgettext("name used when a subscriber has none", "friend")
    if word == "friend":
        word = _FALLBACK_NAMES.get(language, word)
    return word


def attributed_url(url: str, code: str) -> str:
    """``url`` with Tocsin's attribution parameters, keeping its own query string."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ATTRIBUTION_PARAMS]
    query += [("utm_source", "tocsin"), ("utm_medium", "email"), ("utm_campaign", code), ("tocsin_ref", code)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def absolute_url(url: str) -> str:
    if url.startswith("/") and not url.startswith("//"):
        return settings.SITE_URL + url
    return url


@dataclass
class MergeFields:
    """Turns the merge fields of staff text into slots and remembers each one's fallback."""

    fallback: str
    defaults: dict[str, str] = field(default_factory=dict)  # slot -> fallback text
    first_name_slots: set[str] = field(default_factory=set)

    def __call__(self, text: str) -> str:
        return merge_fields.FIELD.sub(self._replace, text or "")

    def _replace(self, match: re.Match[str]) -> str:
        parsed = merge_fields.parse(match.group(1))
        if parsed is None:
            # Unknown fields disappear rather than show readers "{{ something }}"
            # (the pre-send check refuses them: campaigns/lifecycle.py, content_problems).
            return ""
        slot = f"n{len(self.defaults)}"
        self.defaults[slot] = one_line(parsed.default) if parsed.default is not None else self.fallback
        if parsed.first_only:
            self.first_name_slots.add(slot)
        return SLOT.format(slot)


@dataclass
class Block:
    """One value of a per-recipient block in one language, rendered and inlined, with its links as slots."""

    html: Template
    text: str
    links: dict[str, str]
    json_urls: dict[str, str]
    untracked: dict[str, str]


@dataclass
class Version:
    """One language version of a campaign, compiled."""

    language: str
    subject: Template
    html: Template
    text: Template
    defaults: dict[str, str]
    first_name_slots: set[str]
    fallback: str
    # Links the first-party click redirect may wrap: slot -> URL, and each slot's untracked HTML value.
    links: dict[str, str] = field(default_factory=dict)
    json_urls: dict[str, str] = field(default_factory=dict)
    untracked: dict[str, str] = field(default_factory=dict)
    reasons: dict[frozenset[int], tuple[str, str]] = field(default_factory=dict)
    # Per-recipient blocks (plugins.RecipientBlock): what they are rendered from, and each value's rendering.
    block_source: BlockSource | None = None
    css: str = ""  # the email's stylesheet, to inline each block with
    blocks: dict[tuple[str, Hashable], Block] = field(default_factory=dict)
    # An A/B test's subjects by variant number (the main language's version only).
    variant_subjects: dict[int, Template] = field(default_factory=dict)
    # Links another app makes personal per recipient (campaigns/sending/personal_links.py): slot -> builder.
    personal: dict[str, personal_links.PersonalUrl] = field(default_factory=dict)

    def name_values(self, name: str) -> tuple[dict[str, str], dict[str, str]]:
        """(text values, HTML values) of the name slots for a person called ``name``."""
        if not self.defaults:
            return {}, {}
        if not name:
            text = dict(self.defaults)
        else:
            first = name.split(" ", 1)[0]
            text = {slot: first if slot in self.first_name_slots else name for slot in self.defaults}
        return text, {slot: html.escape(value) for slot, value in text.items()}


class Compiler:
    """Every language version of one campaign (and of its blocks' values), compiled once and kept."""

    def __init__(
        self,
        campaign: Campaign,
        *,
        translations: dict[str, CampaignTranslation],
        blocks: list[RecipientBlock],
        test_subjects: list[str] | None = None,
    ) -> None:
        self.campaign = campaign
        self.test_subjects = test_subjects or []
        self.translations = translations
        self.blocks = blocks
        self._articles: list[Article] | None = None
        self._article_translations: dict[tuple[int | None, str], Article] = {}

    def version(self, language: str, *, web: bool) -> Version:
        """``language``'s version (``web``: the public web version, whose links are never personal or tracked)."""
        campaign = self.campaign
        content: Campaign | CampaignTranslation = self.translations.get(language, campaign)
        if language == campaign.language:
            content = campaign
        with translation.override(language):
            merge = MergeFields(fallback=fallback_name(language))
            subject = merge(one_line(content.subject))
            tested = self.test_subjects if content is campaign and not web else []
            variant_subjects = {n: Template(merge(one_line(text))) for n, text in enumerate(tested, start=1)}
            preheader = merge(one_line(content.preheader))
            web_version_url = self._web_version_url(language)
            intro_source = merge(content.intro_markdown)
            body_source = merge(content.body_markdown)
            cta_text, cta_url = self._call_to_action(content)
            block_slots = {block.name: SLOT.format(f"b{index}") for index, block in enumerate(self.blocks)}
            context = {
                "language": language,
                "kind": campaign.kind,
                # An automated campaign's email (a journey's step) is a personal follow-up, not a
                # bulletin: no kind label over it, in any language.
                "automated": campaign.automated,
                "web": web,
                "subject": subject,
                "preheader": preheader,
                "intro_html": markdown_to_html(intro_source),
                "intro_text": markdown_to_text(intro_source, absolute=absolute_url),
                "body_html": markdown_to_html(body_source),
                "body_text": markdown_to_text(body_source, absolute=absolute_url),
                "cta_text": one_line(cta_text),
                "cta_url": absolute_url(cta_url),
                "blocks": block_slots,
                "articles": self._article_items(language) if campaign.kind == Campaign.Kind.BULLETIN else [],
                "org_name": settings.TOCSIN_ORG_NAME,
                "org_address": settings.TOCSIN_ORG_ADDRESS,
                "site_url": settings.SITE_URL,
                "site_name": site_name(),
                "signup_url": signup_url(),
                "web_version_url": web_version_url,
                "unsubscribe_url": SLOT.format("u"),
                "preferences_url": SLOT.format("p"),
                "reason": SLOT.format("r"),
                **(_share_card(language, [campaign.language, *self.translations]) if web else {}),
            }
            rendered_html = render_to_string(f"emails/campaign/{campaign.kind}.html", context)
            rendered_text = render_to_string(f"emails/campaign/{campaign.kind}.txt", context)
        block_source = None
        if block_slots:
            block_source = BlockSource(
                campaign=campaign,
                language=language,
                cta_text=one_line(cta_text),
                cta_url=absolute_url(cta_url),
                web=web,
            )
        inlined = INLINER.inline(rendered_html)
        links: dict[str, str] = {}
        untracked: dict[str, str] = {}
        personal: dict[str, personal_links.PersonalUrl] = {}
        text = str(rendered_text)
        if not web:
            inlined, links, untracked = link_slots(inlined, keep={web_version_url})
            text, personal = personal_links.take_personal(links, text, campaign_id=campaign.pk)
        return Version(
            language=language,
            subject=Template(subject),
            html=Template(inlined),
            links=links,
            json_urls={url: json.dumps(url) for url in links.values()},
            untracked=untracked,
            text=Template(tidy_text(text)),
            defaults=merge.defaults,
            first_name_slots=merge.first_name_slots,
            fallback=merge.fallback,
            block_source=block_source,
            css="\n".join(STYLE.findall(rendered_html)) if block_source else "",
            variant_subjects=variant_subjects,
            personal=personal,
        )

    def _call_to_action(self, content: Campaign | CampaignTranslation) -> tuple[str, str]:
        """The button's (text, URL): appeals and alerts have a default text, and an appeal's URL is attributed."""
        campaign = self.campaign
        cta_text = content.call_to_action_text or campaign.call_to_action_text
        cta_url = campaign.call_to_action_url
        if campaign.kind == Campaign.Kind.APPEAL:
            cta_text = cta_text or _("Donate now")
            cta_url = attributed_url(cta_url, campaign.attribution_code) if cta_url else ""
        elif campaign.kind == Campaign.Kind.ALERT:
            cta_text = cta_text or _("Take action")
        return cta_text, cta_url

    def block(self, version: Version, block: RecipientBlock, value: Hashable) -> Block:
        # Values repeat (most people never gave, and gifts cluster at round
        # numbers), so each one is rendered and inlined once per language.
        key = (block.name, value)
        compiled = version.blocks.get(key)
        if compiled is None:
            compiled = version.blocks[key] = self._compile_block(version, block, value)
        return compiled

    def _compile_block(self, version: Version, block: RecipientBlock, value: Hashable) -> Block:
        source = version.block_source
        assert source is not None
        with translation.override(version.language):
            rendered_html, rendered_text = block.render(value, source)
        prefix = f"b{self.blocks.index(block)}l"
        inlined, links, untracked = link_slots(
            INLINER.inline_fragment(rendered_html, version.css), keep=set(), prefix=prefix, pixel=False
        )
        return Block(
            html=Template(inlined),
            text=tidy_text(rendered_text).rstrip("\n"),
            links=links,
            json_urls={url: json.dumps(url) for url in links.values()},
            untracked=untracked,
        )

    def _articles_in_order(self) -> list[Article]:
        if self._articles is None:
            links = CampaignArticle.objects.filter(campaign=self.campaign).select_related("article")
            articles = [link.article for link in links.order_by("position", "id")]
            translations = Article.objects.filter(
                translation_of__in=[a.pk for a in articles], status=Article.Status.PUBLISHED
            )
            self._article_translations = {(a.translation_of_id, a.language): a for a in translations}
            self._articles = articles
        return self._articles

    def _article_items(self, language: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for original in self._articles_in_order():
            article = original
            if article.language != language:
                article = self._article_translations.get((original.pk, language), original)
            if article.summary.strip():
                content_html = markdown_to_html(article.summary)
                content_text = markdown_to_text(article.summary, absolute=absolute_url)
            else:
                content_html = article.body_html or markdown_to_html(article.body_markdown)
                # Articles written in the rich-text editor have HTML only; the converter copes with it.
                content_text = markdown_to_text(article.body_markdown or article.body_html, absolute=absolute_url)
            items.append(
                {
                    "title": article.title,
                    "rule": "-" * min(len(article.title) + len(str(len(items) + 1)) + 2, 72),
                    "url": article_url(article),
                    "source": article.source,
                    "date": formats.date_format(article.published_at, "DATE_FORMAT") if article.published_at else "",
                    "image_url": absolute_url(article.lead_image_url),
                    "image_alt": article.lead_image_alt,
                    "content_html": content_html,
                    "content_text": content_text,
                    "read_more": bool(article.summary.strip()),
                }
            )
        return items

    def _web_version_url(self, language: str) -> str:
        url = settings.SITE_URL + reverse("campaigns:web_version", args=[self.campaign.attribution_code])
        if language != self.campaign.language:
            url += f"?lang={language}"
        return url


def _share_card(language: str, languages: list[str]) -> dict[str, Any]:
    """What templates/_share_card.html needs beside the email's own context: a shared web version's card."""
    return {"ORG_NAME": settings.TOCSIN_ORG_NAME, "og_locales": open_graph.og_locales(language, languages)}


def article_url(article: Article) -> str:
    return settings.SITE_URL + reverse("campaigns:article", args=[article.slug])


def site_name() -> str:
    return urlsplit(settings.SITE_URL).netloc or settings.SITE_URL


def signup_url() -> str:
    for name in ("subscribers:signup", "subscribers:subscribe"):
        try:
            return settings.SITE_URL + reverse(name)
        except NoReverseMatch:
            continue
    # The sign-up form is reachable from the home page (a SPEC contract).
    return settings.SITE_URL + "/"
