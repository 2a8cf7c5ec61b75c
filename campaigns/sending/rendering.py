"""One Delivery -> one email message.

``CampaignRenderer`` is built once per campaign (a batch, a preview, a test
send). For each language version it renders the Django templates and inlines
the CSS exactly once, with sentinel markers where the personal parts go (the
name, the unsubscribe / preference / web-version links, the footer reason),
and splits the result at those markers. ``render()`` then only signs the
recipient's tokens and joins strings: the sending engine calls it a thousand
times a second, so no template rendering and no CSS inlining happen per
recipient.

Blocks that the apps above campaigns register (``campaigns/sending/plugins.py``),
such as an appeal's suggested amounts ("Give $35 / $50 / $70", from
donations), differ per reader, so each fills one more slot: each distinct
value of a block is rendered and inlined once and cached, and its links are
signed per recipient like every other tracked link.

Staff Markdown is never evaluated as a Django template (a phished staff
account must not be able to reach template tags or object attributes): only
the name merge fields are recognised, with the regular expressions of
``campaigns.merge_fields``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from campaigns import merge_fields
from campaigns.content.articles import markdown_to_html
from campaigns.content.plaintext import markdown_to_text, wrap
from campaigns.events import tracking
from campaigns.models import Article, Campaign, CampaignArticle, CampaignTranslation
from campaigns.sending.plugins import BlockSource, RecipientBlock, blocks
from subscribers import tokens
from subscribers.models import MailingList, Subscriber, Subscription, quoted_list_names
from subscribers.text import squash_spaces

# Gmail clips messages whose HTML is larger than this ("[Message clipped]"),
# hiding the footer -- and with it the unsubscribe link.
GMAIL_CLIP_BYTES = 102 * 1024
SIZE_WARNING_RATIO = 0.9

ATTRIBUTION_PARAMS = ("utm_source", "utm_medium", "utm_campaign", "tocsin_ref")

# Letters and digits only: Markdown, smartypants, nh3, Django's autoescape
# and css-inline all leave such a word untouched.
_SLOT = "TOCSINSLOT{}Z"
_SLOT_RE = re.compile(r"TOCSINSLOT([a-z0-9]+)Z")


# The word that stands in for a missing name. Kept here as well as in the
# .po files: a greeting of "Hola friend" is worse than a missing translation.
_FALLBACK_NAMES = {"en": "friend", "es": "amigo/a", "fr": "ami·e"}

_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)

# Anymail backends with no per-message open/click tracking switch: they refuse
# ``track_opens``/``track_clicks`` (AnymailUnsupportedFeature) whatever the value;
# those providers track per account or configuration set.
_NO_TRACKING_SWITCH = frozenset({"amazon_ses", "brevo", "sendinblue", "mailtrap", "postal", "resend", "scaleway"})
# Anymail backends that refuse ``metadata`` (AnymailUnsupportedFeature): their
# webhooks are matched back to deliveries by the provider's message id alone.
_NO_METADATA = frozenset({"mailersend", "postal"})


def fallback_name(language: str) -> str:
    with translation.override(language):
        word = pgettext("name used when a subscriber has none", "friend")
    if word == "friend":
        word = _FALLBACK_NAMES.get(language, word)
    return word


def message_size_warning(html_part: str) -> str | None:
    """A sentence for the admin checklist when the HTML part risks Gmail's clipping, else None."""
    size = len(html_part.encode("utf-8"))
    kb = round(size / 1024)
    if size > GMAIL_CLIP_BYTES:
        return _(
            "The email is %(kb)s KB: Gmail cuts off emails over 102 KB, hiding the end and the unsubscribe link. "
            "Use fewer articles or shorter summaries."
        ) % {"kb": kb}
    if size > GMAIL_CLIP_BYTES * SIZE_WARNING_RATIO:
        return _("The email is %(kb)s KB, close to Gmail's 102 KB limit, after which it is cut off.") % {"kb": kb}
    return None


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


def _one_line(value: str) -> str:
    # Names and subjects go into headers: a newline there is a header injection.
    return squash_spaces(value)


class _Template:
    """A rendered document split at its slots: filling it is one ``join``."""

    __slots__ = ("pieces", "slots")

    def __init__(self, rendered: str) -> None:
        self.pieces = _SLOT_RE.split(rendered)
        self.slots = self.pieces[1::2]

    def fill(self, values: dict[str, str]) -> str:
        pieces = self.pieces.copy()
        # A slot the values do not name (a staff typo that looks like a marker) comes out empty.
        pieces[1::2] = [values.get(slot, "") for slot in self.slots]
        return "".join(pieces)


@dataclass
class _MergeFields:
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
        self.defaults[slot] = _one_line(parsed.default) if parsed.default is not None else self.fallback
        if parsed.first_only:
            self.first_name_slots.add(slot)
        return _SLOT.format(slot)


@dataclass
class _Block:
    """One value of a per-recipient block in one language, rendered and inlined, with its links as slots."""

    html: _Template
    text: str
    links: dict[str, str]
    json_urls: dict[str, str]
    untracked: dict[str, str]


@dataclass
class _Version:
    """One language version of a campaign, compiled."""

    language: str
    subject: _Template
    html: _Template
    text: _Template
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
    blocks: dict[tuple[str, Hashable], _Block] = field(default_factory=dict)

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


class CampaignRenderer:
    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self.lists: dict[int, MailingList] = {ml.pk: ml for ml in campaign.lists.all()}
        self.translations: dict[str, CampaignTranslation] = {t.language: t for t in campaign.translations.all()}
        self.languages = {campaign.language, *self.translations}
        self.tracking_allowed = campaign.tracking_enabled and all(ml.tracking_enabled for ml in self.lists.values())
        self.tracking_switch = settings.ESP not in _NO_TRACKING_SWITCH
        self.metadata_allowed = settings.ESP not in _NO_METADATA
        self.from_email = _from_address(campaign)
        self.reply_to = [campaign.reply_to] if campaign.reply_to else []
        # ONE tag: Postmark, SparkPost, Mailjet, Mailtrap and Postal accept no
        # more (Anymail raises AnymailUnsupportedFeature); the kind goes in metadata.
        self.tags = [f"campaign-{campaign.pk}"]
        # The blocks this campaign's emails have, each with its slot ("b0", "b1"…) and link prefix.
        self.blocks: list[RecipientBlock] = [block for block in blocks() if block.applies(campaign)]
        self._articles: list[Article] | None = None
        self._versions: dict[tuple[str, bool], _Version] = {}
        # The same URLs and tokens as subscribers.tokens.unsubscribe_url /
        # preferences_url and campaigns.events.tracking.click_url / open_pixel_url,
        # with each path reversed once and each HMAC key derived once:
        # reverse() and Signer() per recipient were most of render()'s time.
        self._unsubscribe_signer = tokens.unsubscribe_signer()
        self._preferences_signer = tokens.preferences_signer()
        self._click_signer = tracking.click_signer()
        self._open_signer = tracking.open_signer()
        self._unsubscribe_url = _url_pattern("subscribers:unsubscribe")
        self._preferences_url = _url_pattern("subscribers:preferences")
        try:
            self._click_url = _url_pattern("campaigns:track_click")
            self._open_url = _url_pattern("campaigns:track_open")
        except NoReverseMatch:  # first-party tracking not installed: providers' tracking only
            self._click_url = self._open_url = ""
        # Signed tokens are URL-safe base64 and ":": only the rest of the URL needs escaping.
        self._click_url_html = html.escape(self._click_url)
        self._open_url_html = html.escape(self._open_url)

    # --- public interface -------------------------------------------------------

    def render(
        self,
        *,
        subscriber: Subscriber,
        delivery_id: int | None = None,
        language: str | None = None,
        list_ids: Any = None,
        block_values: Mapping[str, Hashable] | None = None,
    ) -> EmailMultiAlternatives:
        """The personalised message for one recipient.

        ``language`` (e.g. the delivery's snapshot) overrides the subscriber's;
        ``list_ids`` (see ``subscribed_list_ids``) saves a query per recipient
        when the campaign targets several lists; so does ``block_values`` (see
        ``block_values_for``) for the blocks such as an appeal's suggested amounts.
        """
        version = self.version(language or subscriber.language)
        unsubscribe_token = self._unsubscribe_signer.sign(str(subscriber.pk))
        unsubscribe = self._unsubscribe_url.format(unsubscribe_token)
        preferences = self._preferences_url.format(self._preferences_signer.sign(str(subscriber.pk)))
        headers = tokens.list_unsubscribe_header_values(unsubscribe_url=unsubscribe, token=unsubscribe_token)
        reason_text, reason_html = self._reason(version, self._list_ids_of(subscriber, list_ids))
        text_values, html_values = version.name_values(_one_line(subscriber.name))
        subject = version.subject.fill(text_values)
        text_values.update(u=unsubscribe, p=preferences, r=reason_text)
        html_values.update(u=html.escape(unsubscribe), p=html.escape(preferences), r=reason_html)
        tracked = self.tracking_allowed and subscriber.tracking_allowed
        track_links = tracked and delivery_id is not None and bool(self._click_url)
        if track_links:
            self._track(version, html_values, int(delivery_id))  # type: ignore[arg-type]
        else:
            html_values.update(version.untracked)
        for index, recipient_block in enumerate(self.blocks if version.block_source is not None else ()):
            block = self._block(version, recipient_block, self._block_value(recipient_block, subscriber, block_values))
            text_values[f"b{index}"] = block.text
            values = dict(block.untracked)
            if track_links:
                self._sign_links(block.links, block.json_urls, values, int(delivery_id))  # type: ignore[arg-type]
            html_values[f"b{index}"] = block.html.fill(values)
        message = EmailMultiAlternatives(
            subject=subject,
            body=version.text.fill(text_values),
            from_email=self.from_email,
            to=[subscriber.email],
            reply_to=self.reply_to,
            headers=headers,
        )
        message.attach_alternative(version.html.fill(html_values), "text/html")
        # Anymail reads these attributes (other backends ignore them). Metadata
        # values are strings because several ESPs accept nothing else.
        if self.metadata_allowed:
            metadata = {"campaign_id": str(self.campaign.pk), "kind": str(self.campaign.kind)}
            if delivery_id is not None:
                metadata["delivery_id"] = str(delivery_id)
            message.metadata = metadata  # type: ignore[attr-defined]
        message.tags = list(self.tags)  # type: ignore[attr-defined]
        if self.tracking_switch:
            message.track_opens = tracked  # type: ignore[attr-defined]
            message.track_clicks = tracked  # type: ignore[attr-defined]
        return message

    def _track(self, version: _Version, html_values: dict[str, str], delivery_id: int) -> None:
        """First-party click redirects and the open pixel, so that SMTP sends are measured too.

        One signature per distinct URL: an article's image, headline and
        "read more" share one token.
        """
        delivery = int(delivery_id)
        self._sign_links(version.links, version.json_urls, html_values, delivery)
        pixel = self._open_url_html.format(self._open_signer.sign(str(delivery)))
        html_values["o"] = (
            f'<img src="{pixel}" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">'
        )

    def _sign_links(
        self, links: dict[str, str], json_urls: dict[str, str], values: dict[str, str], delivery: int
    ) -> None:
        signed: dict[str, str] = {}
        for slot, url in links.items():
            tracked = signed.get(url)
            if tracked is None:
                token = self._click_signer.sign_json(f"[{delivery},{json_urls[url]}]")
                tracked = signed[url] = self._click_url_html.format(token)
            values[slot] = tracked

    def web_html(self, language: str | None = None) -> str:
        """The campaign as an anonymous reader sees it on the site: no personal link anywhere."""
        version = self.version(language or self.campaign.language, web=True)
        _text_values, html_values = version.name_values("")
        for index, recipient_block in enumerate(self.blocks if version.block_source is not None else ()):
            # Anyone may read the web version: a block's default, never one reader's value.
            block = self._block(version, recipient_block, recipient_block.default(self.campaign))
            html_values[f"b{index}"] = block.html.fill(block.untracked)
        return version.html.fill(html_values)

    def subscribed_list_ids(self, subscriber_ids: list[int]) -> dict[int, set[int]]:
        """For a batch: which of this campaign's lists each subscriber is on (one query)."""
        found: dict[int, set[int]] = {pk: set() for pk in subscriber_ids}
        rows = Subscription.objects.filter(
            subscriber_id__in=subscriber_ids, mailing_list_id__in=list(self.lists), status=Subscription.Status.ACTIVE
        ).values_list("subscriber_id", "mailing_list_id")
        for subscriber_id, list_id in rows:
            found[subscriber_id].add(list_id)
        return found

    def block_values_for(self, subscriber_ids: list[int]) -> dict[int, dict[str, Hashable]]:
        """For a batch: each subscriber's value of each block (one call per block; none without blocks)."""
        found: dict[int, dict[str, Hashable]] = {}
        for block in self.blocks:
            for subscriber_id, value in block.values_for(self.campaign, subscriber_ids).items():
                found.setdefault(subscriber_id, {})[block.name] = value
        return found

    def version(self, language: str, *, web: bool = False) -> _Version:
        if language not in self.languages:
            language = self.campaign.language
        key = (language, web)
        if key not in self._versions:
            self._versions[key] = self._compile(language, web=web)
        return self._versions[key]

    # --- compiling a language version -----------------------------------------

    def _compile(self, language: str, *, web: bool) -> _Version:
        campaign = self.campaign
        content: Campaign | CampaignTranslation = self.translations.get(language, campaign)
        if language == campaign.language:
            content = campaign
        with translation.override(language):
            merge = _MergeFields(fallback=fallback_name(language))
            subject = merge(_one_line(content.subject))
            preheader = merge(_one_line(content.preheader))
            web_version_url = self._web_version_url(language)
            intro_source = merge(content.intro_markdown)
            body_source = merge(content.body_markdown)
            cta_text = content.call_to_action_text or campaign.call_to_action_text
            cta_url = campaign.call_to_action_url
            if campaign.kind == Campaign.Kind.APPEAL:
                cta_text = cta_text or _("Donate now")
                cta_url = attributed_url(cta_url, campaign.attribution_code) if cta_url else ""
            elif campaign.kind == Campaign.Kind.ALERT:
                cta_text = cta_text or _("Take action")
            block_slots = {block.name: _SLOT.format(f"b{index}") for index, block in enumerate(self.blocks)}
            context = {
                "language": language,
                "kind": campaign.kind,
                "web": web,
                "subject": subject,
                "preheader": preheader,
                "intro_html": markdown_to_html(intro_source),
                "intro_text": markdown_to_text(intro_source, absolute=absolute_url),
                "body_html": markdown_to_html(body_source),
                "body_text": markdown_to_text(body_source, absolute=absolute_url),
                "cta_text": _one_line(cta_text),
                "cta_url": absolute_url(cta_url),
                "blocks": block_slots,
                "articles": self._article_items(language) if campaign.kind == Campaign.Kind.BULLETIN else [],
                "org_name": settings.TOCSIN_ORG_NAME,
                "org_address": settings.TOCSIN_ORG_ADDRESS,
                "site_url": settings.SITE_URL,
                "site_name": _site_name(),
                "signup_url": _signup_url(),
                "web_version_url": web_version_url,
                "unsubscribe_url": _SLOT.format("u"),
                "preferences_url": _SLOT.format("p"),
                "reason": _SLOT.format("r"),
            }
            rendered_html = render_to_string(f"emails/campaign/{campaign.kind}.html", context)
            rendered_text = render_to_string(f"emails/campaign/{campaign.kind}.txt", context)
        block_source = None
        if block_slots:
            block_source = BlockSource(
                campaign=campaign,
                language=language,
                cta_text=_one_line(cta_text),
                cta_url=absolute_url(cta_url),
                web=web,
            )
        inlined = _INLINER.inline(rendered_html)
        links: dict[str, str] = {}
        untracked: dict[str, str] = {}
        if not web:
            inlined, links, untracked = _link_slots(inlined, keep={web_version_url})
        return _Version(
            language=language,
            subject=_Template(subject),
            html=_Template(inlined),
            links=links,
            json_urls={url: json.dumps(url) for url in links.values()},
            untracked=untracked,
            text=_Template(_tidy_text(rendered_text)),
            defaults=merge.defaults,
            first_name_slots=merge.first_name_slots,
            fallback=merge.fallback,
            block_source=block_source,
            css="\n".join(_STYLE.findall(rendered_html)) if block_source else "",
        )

    def _block(self, version: _Version, block: RecipientBlock, value: Hashable) -> _Block:
        # Values repeat (most people never gave, and gifts cluster at round
        # numbers), so each one is rendered and inlined once per language.
        key = (block.name, value)
        compiled = version.blocks.get(key)
        if compiled is None:
            compiled = version.blocks[key] = self._compile_block(version, block, value)
        return compiled

    def _compile_block(self, version: _Version, block: RecipientBlock, value: Hashable) -> _Block:
        source = version.block_source
        assert source is not None
        with translation.override(version.language):
            rendered_html, rendered_text = block.render(value, source)
        prefix = f"b{self.blocks.index(block)}l"
        inlined, links, untracked = _link_slots(
            _INLINER.inline_fragment(rendered_html, version.css), keep=set(), prefix=prefix, pixel=False
        )
        return _Block(
            html=_Template(inlined),
            text=_tidy_text(rendered_text).rstrip("\n"),
            links=links,
            json_urls={url: json.dumps(url) for url in links.values()},
            untracked=untracked,
        )

    def _block_value(
        self, block: RecipientBlock, subscriber: Subscriber, values: Mapping[str, Hashable] | None
    ) -> Hashable:
        if values is not None and block.name in values:
            return values[block.name]
        if not subscriber.pk:  # a preview's sample reader or a test send: no one's real data
            return block.default(self.campaign)
        found = block.values_for(self.campaign, [subscriber.pk])
        return found[subscriber.pk] if subscriber.pk in found else block.default(self.campaign)

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
                    "url": _article_url(article),
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

    # --- per recipient --------------------------------------------------------------

    def _list_ids_of(self, subscriber: Subscriber, list_ids: Any) -> frozenset[int]:
        if list_ids is not None:
            return frozenset(list_ids).intersection(self.lists)
        prefetched = getattr(subscriber, "_prefetched_objects_cache", {}).get("subscriptions")
        if prefetched is not None:
            return frozenset(
                s.mailing_list_id
                for s in prefetched
                if s.status == Subscription.Status.ACTIVE and s.mailing_list_id in self.lists
            )
        if len(self.lists) <= 1 or subscriber.pk is None:
            # Everyone in the audience of a one-list campaign is on that list.
            return frozenset(self.lists)
        return frozenset(self.subscribed_list_ids([subscriber.pk])[subscriber.pk])

    def _reason(self, version: _Version, list_ids: frozenset[int]) -> tuple[str, str]:
        reason = version.reasons.get(list_ids)
        if reason is None:
            # The lists' own order (MailingList.Meta), whatever order the set iterates in.
            ordered = sorted(list_ids, key=lambda pk: (self.lists[pk].position, self.lists[pk].name, pk))
            with translation.override(version.language):
                if ordered:
                    sentence = _("You receive this because you signed up for %(lists)s at %(site)s.") % {
                        "lists": quoted_list_names([self.lists[pk] for pk in ordered]),
                        "site": _site_name(),
                    }
                else:
                    sentence = _("You receive this because you signed up at %(site)s.") % {"site": _site_name()}
            reason = version.reasons[list_ids] = (wrap(sentence), html.escape(sentence))
        return reason


def render_preview(
    campaign: Campaign, *, language: str | None = None, subscriber: Subscriber | None = None
) -> tuple[str, str, str]:
    """(subject, HTML, text) of ``campaign`` as ``subscriber`` (default: a sample reader) would get it."""
    renderer = CampaignRenderer(campaign)
    language = language or (subscriber.language if subscriber else campaign.language)
    if subscriber is None:
        with translation.override(language):
            subscriber = Subscriber(pk=0, email="reader@example.org", name=_("Alex Sample"), language=language)
        message = renderer.render(subscriber=subscriber, language=language, list_ids=list(renderer.lists))
    else:
        message = renderer.render(subscriber=subscriber, language=language)
    html_part = str(message.alternatives[0][0])
    return str(message.subject), html_part, str(message.body)


def render_web_version(campaign: Campaign, *, language: str | None = None) -> str:
    return CampaignRenderer(campaign).web_html(language)


def _from_address(campaign: Campaign) -> str:
    name = _one_line(campaign.from_name).replace("\\", "").replace('"', "'")
    address = campaign.from_email or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    if not name:
        return campaign.from_email or settings.DEFAULT_FROM_EMAIL
    return f'"{name}" <{address}>'


_HREF = re.compile(r"""(<a\b[^>]*?\bhref=")([^"]*)(")""", re.IGNORECASE)
_BODY_END = "</body>"


def _link_slots(
    document: str, *, keep: set[str], prefix: str = "l", pixel: bool = True
) -> tuple[str, dict[str, str], dict[str, str]]:
    """Turn each trackable link of ``document`` into a slot, and add the open pixel's slot.

    Works on css-inline's output, which always writes attributes double-quoted.
    Personal links (unsubscribe, preferences) are slots already, so they are
    never wrapped: leaving must not depend on the tracker. Nor are the URLs in ``keep``.
    """
    links: dict[str, str] = {}
    untracked: dict[str, str] = {"o": ""} if pixel else {}

    def replace(match: re.Match[str]) -> str:
        url = html.unescape(match.group(2)).strip()
        if url in keep or not tracking.is_redirectable(url):
            return match.group(0)
        slot = f"{prefix}{len(links)}"
        links[slot] = url
        untracked[slot] = match.group(2)
        return match.group(1) + _SLOT.format(slot) + match.group(3)

    document = _HREF.sub(replace, document)
    if not pixel:
        return document, links, untracked
    index = document.rfind(_BODY_END)
    marker = _SLOT.format("o")
    document = document[:index] + marker + document[index:] if index != -1 else document + marker
    return document, links, untracked


_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)


def _url_pattern(name: str) -> str:
    """``absolute(reverse(name, args=[token]))`` as a format string with ``{}`` for the token."""
    marker = _SLOT.format("token")
    return tokens.absolute(reverse(name, args=[marker])).replace("{", "{{").replace("}", "}}").replace(marker, "{}")


def _article_url(article: Article) -> str:
    return settings.SITE_URL + reverse("campaigns:article", args=[article.slug])


def _site_name() -> str:
    return urlsplit(settings.SITE_URL).netloc or settings.SITE_URL


def _signup_url() -> str:
    for name in ("subscribers:signup", "subscribers:subscribe"):
        try:
            return settings.SITE_URL + reverse(name)
        except NoReverseMatch:
            continue
    # The sign-up form is reachable from the home page (a SPEC contract).
    return settings.SITE_URL + "/"


_BLANK_LINES = re.compile(r"\n{3,}")


def _tidy_text(text: str) -> str:
    # Template tags leave blank lines behind; one empty line between blocks is enough.
    lines = [line.rstrip() for line in text.strip().split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)) + "\n"
