"""One delivery -> one email message, from a campaign compiled once (``compiling.py``).

``CampaignRenderer`` is built once per campaign (a batch, a preview, a test
send). Each language version is compiled once (``compiling.Compiler``: the
templates rendered and the CSS inlined, with slots where the personal parts
go); ``render()`` then only signs the recipient's tokens and joins strings:
the sending engine calls it a thousand times a second, so no template
rendering and no CSS inlining happen per recipient.

Blocks that the apps above campaigns register (``campaigns/sending/plugins.py``),
such as an appeal's suggested amounts ("Give $35 / $50 / $70", from
donations), differ per reader, so each fills one more slot: each distinct
value of a block is rendered and inlined once and cached, and its links are
signed per recipient like every other tracked link.
"""

from __future__ import annotations

import html
from collections.abc import Hashable, Mapping
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import NoReverseMatch
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.content.plaintext import wrap
from campaigns.events import tracking
from campaigns.models import ABTest, Campaign, CampaignTranslation
from campaigns.sending import personal_links
from campaigns.sending.compiling import Compiler, Version, site_name
from campaigns.sending.plugins import RecipientBlock, blocks
from campaigns.sending.slots import one_line, url_pattern
from subscribers import tokens
from subscribers.models import MailingList, Subscriber, Subscription, quoted_list_names

# Gmail clips messages whose HTML is larger than this ("[Message clipped]"),
# hiding the footer -- and with it the unsubscribe link.
GMAIL_CLIP_BYTES = 102 * 1024
SIZE_WARNING_RATIO = 0.9

ATTRIBUTION_PARAMS = ("utm_source", "utm_medium", "utm_campaign", "tocsin_ref")

# Anymail backends with no per-message open/click tracking switch: they refuse
# ``track_opens``/``track_clicks`` (AnymailUnsupportedFeature) whatever the value;
# those providers track per account or configuration set.
_NO_TRACKING_SWITCH = frozenset({"amazon_ses", "brevo", "sendinblue", "mailtrap", "postal", "resend", "scaleway"})
# Anymail backends that refuse ``metadata`` (AnymailUnsupportedFeature): their
# webhooks are matched back to deliveries by the provider's message id alone.
_NO_METADATA = frozenset({"mailersend", "postal"})


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
        tested = ABTest.objects.filter(campaign=campaign).values_list("subjects", flat=True).first()
        self.compiler = Compiler(
            campaign, translations=self.translations, blocks=self.blocks, test_subjects=list(tested or [])
        )
        self._versions: dict[tuple[str, bool], Version] = {}
        # The same URLs and tokens as subscribers.tokens.unsubscribe_url /
        # preferences_url and campaigns.events.tracking.click_url / open_pixel_url,
        # with each path reversed once and each HMAC key derived once:
        # reverse() and Signer() per recipient were most of render()'s time.
        self._unsubscribe_signer = tokens.unsubscribe_signer()
        self._preferences_signer = tokens.preferences_signer()
        self._click_signer = tracking.click_signer()
        self._open_signer = tracking.open_signer()
        self._unsubscribe_url = url_pattern("subscribers:unsubscribe")
        self._preferences_url = url_pattern("subscribers:preferences")
        try:
            self._click_url = url_pattern("campaigns:track_click")
            self._open_url = url_pattern("campaigns:track_open")
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
        variant: int | None = None,
    ) -> EmailMultiAlternatives:
        """The personalised message for one recipient.

        ``language`` (e.g. the delivery's snapshot) overrides the subscriber's;
        ``list_ids`` (see ``subscribed_list_ids``) saves a query per recipient
        when the campaign targets several lists; so does ``block_values`` (see
        ``block_values_for``) for the blocks such as an appeal's suggested amounts.
        ``variant``: the A/B test's subject this delivery gets (readers of a translation keep its subject).
        """
        version = self.version(language or subscriber.language)
        unsubscribe_token = self._unsubscribe_signer.sign(str(subscriber.pk))
        unsubscribe = self._unsubscribe_url.format(unsubscribe_token)
        preferences = self._preferences_url.format(self._preferences_signer.sign(str(subscriber.pk)))
        headers = tokens.list_unsubscribe_header_values(unsubscribe_url=unsubscribe, token=unsubscribe_token)
        reason_text, reason_html = self._reason(version, self._list_ids_of(subscriber, list_ids))
        text_values, html_values = version.name_values(one_line(subscriber.name))
        subject = version.variant_subjects.get(variant or 0, version.subject).fill(text_values)
        text_values.update(u=unsubscribe, p=preferences, r=reason_text)
        html_values.update(u=html.escape(unsubscribe), p=html.escape(preferences), r=reason_html)
        tracked = self.tracking_allowed and subscriber.tracking_allowed
        track_links = tracked and delivery_id is not None and bool(self._click_url)
        if track_links:
            self._track(version, html_values, int(delivery_id))  # type: ignore[arg-type]
        else:
            html_values.update(version.untracked)
        for index, recipient_block in enumerate(self.blocks if version.block_source is not None else ()):
            block = self.compiler.block(
                version, recipient_block, self._block_value(recipient_block, subscriber, block_values)
            )
            text_values[f"b{index}"] = block.text
            values = dict(block.untracked)
            if track_links:
                self._sign_links(block.links, block.json_urls, values, int(delivery_id))  # type: ignore[arg-type]
            html_values[f"b{index}"] = block.html.fill(values)
        if version.personal and subscriber.pk:
            personal_links.fill(version.personal, subscriber.pk, text_values, html_values)
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

    def _track(self, version: Version, html_values: dict[str, str], delivery_id: int) -> None:
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
            block = self.compiler.block(version, recipient_block, recipient_block.default(self.campaign))
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

    def version(self, language: str, *, web: bool = False) -> Version:
        if language not in self.languages:
            language = self.campaign.language
        key = (language, web)
        if key not in self._versions:
            self._versions[key] = self.compiler.version(language, web=web)
        return self._versions[key]

    def _block_value(
        self, block: RecipientBlock, subscriber: Subscriber, values: Mapping[str, Hashable] | None
    ) -> Hashable:
        if values is not None and block.name in values:
            return values[block.name]
        if not subscriber.pk:  # a preview's sample reader or a test send: no one's real data
            return block.default(self.campaign)
        found = block.values_for(self.campaign, [subscriber.pk])
        return found[subscriber.pk] if subscriber.pk in found else block.default(self.campaign)

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

    def _reason(self, version: Version, list_ids: frozenset[int]) -> tuple[str, str]:
        reason = version.reasons.get(list_ids)
        if reason is None:
            # The lists' own order (MailingList.Meta), whatever order the set iterates in.
            ordered = sorted(list_ids, key=lambda pk: (self.lists[pk].position, self.lists[pk].name, pk))
            with translation.override(version.language):
                if ordered:
                    sentence = _("You receive this because you signed up for %(lists)s at %(site)s.") % {
                        "lists": quoted_list_names([self.lists[pk] for pk in ordered]),
                        "site": site_name(),
                    }
                else:
                    sentence = _("You receive this because you signed up at %(site)s.") % {"site": site_name()}
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
    name = one_line(campaign.from_name).replace("\\", "").replace('"', "'")
    address = campaign.from_email or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    if not name:
        return campaign.from_email or settings.DEFAULT_FROM_EMAIL
    return f'"{name}" <{address}>'
