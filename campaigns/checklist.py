"""Pre-send checklist: what a careful colleague would point out before sending.

Most checks only warn: staff decide. Malformed or unknown merge tags block
(``campaigns.lifecycle.content_problems``): every way of sending refuses them. The email is
rendered the way a sample reader would get it, once per language version,
and the checks read that output — what is checked is what will be sent.

Links to our own site are checked without any network request: the path is
resolved with Django's URL resolver, and public pages of this app (articles,
topics) are asked for directly, so a link to an unpublished or misspelt
article shows up as a 404 here rather than in a reader's browser.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.test import RequestFactory
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns import lifecycle
from campaigns.models import Campaign
from campaigns.sending import audience, frequency, rendering
from subscribers.models import quoted_list_names

logger = logging.getLogger(__name__)

# Views whose pages exist only later (the web version goes live when the
# campaign is sent) or only per recipient (tracking, unsubscribe tokens).
_NOT_CHECKED_VIEWS = {"campaigns:web_version", "campaigns:track_click", "campaigns:track_open"}
# Namespaces whose public pages are cheap, read-only and safe to ask for.
_FETCHED_NAMESPACES = {"campaigns"}


@dataclass(frozen=True)
class Warning:
    code: str
    message: str
    # True: sending and scheduling are refused until it is fixed (campaigns/lifecycle.py).
    blocks: bool = False


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.images_without_alt: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"].strip())
        elif tag == "img":
            # A 1x1 image is a tracking pixel: decorative by definition.
            if values.get("width") == "1" and values.get("height") == "1":
                return
            if not values.get("alt", "").strip():
                self.images_without_alt.append(values.get("src", "") or "?")


def _own_path(href: str) -> str | None:
    """The path of a link to our own site, or None for anything else."""
    if href.startswith("/") and not href.startswith("//"):
        return urlsplit(href).path
    site = urlsplit(settings.SITE_URL)
    parts = urlsplit(href)
    if parts.scheme in ("http", "https") and parts.netloc == site.netloc:
        return parts.path or "/"
    return None


def link_is_broken(path: str) -> bool:
    """Whether a path on our own site answers 404, found without a network request."""
    try:
        match = resolve(path)
    except Resolver404:
        return True
    if match.view_name in _NOT_CHECKED_VIEWS or match.namespace not in _FETCHED_NAMESPACES:
        return False
    request = RequestFactory().get(path)
    request.user = AnonymousUser()
    request.LANGUAGE_CODE = translation.get_language() or settings.LANGUAGE_CODE  # type: ignore[attr-defined]
    try:
        response = match.func(request, *match.args, **match.kwargs)
    except Http404:
        return True
    except Exception:  # a page failing for another reason is not a broken link
        logger.debug("checklist could not check %s", path, exc_info=True)
        return False
    return getattr(response, "status_code", 200) == 404


def _version_warnings(campaign: Campaign, language: str, label: str) -> list[Warning]:
    subject, html, text = rendering.render_preview(campaign, language=language)
    found: list[Warning] = []
    if not subject.strip():
        found.append(Warning("no-subject", _("%(version)s: the subject is empty.") % {"version": label}))
    if not text.strip():
        found.append(Warning("no-text", _("%(version)s: the plain-text part is empty.") % {"version": label}))
    parser = _Links()
    parser.feed(html)
    for src in parser.images_without_alt:
        found.append(
            Warning(
                "image-alt",
                _("%(version)s: an image has no alt text (screen readers and blocked images show nothing): %(src)s")
                % {"version": label, "src": src[:200]},
            )
        )
    checked: set[str] = set()
    for href in parser.hrefs:
        path = _own_path(href)
        if path is None or path in checked:
            continue
        checked.add(path)
        if link_is_broken(path):
            found.append(
                Warning(
                    "broken-link",
                    _("%(version)s: a link to our site leads to a missing page (404): %(url)s")
                    % {"version": label, "url": href[:300]},
                )
            )
    size = rendering.message_size_warning(html)
    if size:
        found.append(Warning("size", f"{label}: {size}"))
    return found


@dataclass(frozen=True)
class LanguageShare:
    """How many of the audience read ``language``, and which version they will get."""

    language: str
    language_name: str
    count: int
    version: str
    version_name: str

    @property
    def translated(self) -> bool:
        return self.language == self.version


def language_shares(campaign: Campaign) -> list[LanguageShare]:
    """The audience by reading language, biggest first, as the snapshot will assign versions."""
    names = dict(settings.LANGUAGES)
    versions = set(audience.campaign_languages(campaign))
    shares = []
    for language, count in audience.count_audience_by_language(campaign).items():
        version = language if language in versions else campaign.language
        shares.append(
            LanguageShare(
                language=language,
                language_name=str(names.get(language, language)),
                count=count,
                version=version,
                version_name=str(names.get(version, version)),
            )
        )
    return sorted(shares, key=lambda share: (-share.count, share.language))


def _language_warnings(campaign: Campaign, versions: list[str]) -> list[Warning]:
    names = dict(settings.LANGUAGES)
    main = str(names.get(campaign.language, campaign.language))
    found = []
    untranslated = [share for share in language_shares(campaign) if not share.translated]
    for share in untranslated:
        found.append(
            Warning(
                "no-translation",
                ngettext(
                    "%(count)s reader of %(language)s will get the %(main)s version: there is no %(language)s "
                    "translation. Add one, or send only to languages that have a version.",
                    "%(count)s readers of %(language)s will get the %(main)s version: there is no %(language)s "
                    "translation. Add one, or send only to languages that have a version.",
                    share.count,
                )
                % {"count": share.count, "language": share.language_name, "main": main},
            )
        )
    # Chosen on purpose, with nobody reading it yet: still worth a word.
    counted = {share.language for share in untranslated}
    chosen = [code for code in campaign.languages or [] if code not in versions and code not in counted]
    if chosen:
        found.append(
            Warning(
                "no-translation",
                _("Readers in %(languages)s will get the %(main)s version: there is no translation.")
                % {"languages": ", ".join(str(names.get(code, code)) for code in chosen), "main": main},
            )
        )
    return found


def _tracking_warnings(campaign: Campaign, audience_size: int) -> list[Warning]:
    """Before sending, say how many readers the open and click figures will leave out.

    Staff who switched tracking off for the campaign know it; a list's or a
    reader's privacy switch is the surprise (reports that look like 0 %).
    """
    if not campaign.tracking_enabled or not audience_size:
        return []
    untracked_lists = list(campaign.lists.filter(tracking_enabled=False))
    if untracked_lists:
        return [
            Warning(
                "untracked",
                _(
                    "Opens and clicks will not be counted for any of the %(total)s readers: %(lists)s has tracking "
                    "off, and one list without tracking turns it off for the whole campaign."
                )
                % {
                    "total": number_format(audience_size, force_grouping=True),
                    "lists": quoted_list_names(untracked_lists),
                },
            )
        ]
    untracked = audience.count_untracked_by_choice(campaign)
    if not untracked:
        return []
    return [
        Warning(
            "untracked",
            ngettext(
                "%(count)s of %(total)s readers is not tracked (their own privacy choice): opens and clicks "
                "will be counted for the other %(rest)s only.",
                "%(count)s of %(total)s readers are not tracked (their own privacy choice): opens and clicks "
                "will be counted for the other %(rest)s only.",
                untracked,
            )
            % {
                "count": number_format(untracked, force_grouping=True),
                "total": number_format(audience_size, force_grouping=True),
                "rest": number_format(audience_size - untracked, force_grouping=True),
            },
        )
    ]


def cap_description() -> str:
    """The cap in force in words ("at most 2 emails in 7 days"), or ""."""
    cap = frequency.current_cap()
    if cap is None:
        return ""
    hours = int(cap.window.total_seconds() // 3600)
    window = (
        ngettext("%(n)s day", "%(n)s days", hours // 24) % {"n": hours // 24}
        if hours % 24 == 0
        else ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}
    )
    return ngettext("at most %(count)s email in %(window)s", "at most %(count)s emails in %(window)s", cap.count) % {
        "count": cap.count,
        "window": window,
    }


def _cap_warnings(campaign: Campaign) -> list[Warning]:
    held = audience.count_capped(campaign)
    if not held:
        return []
    return [
        Warning(
            "frequency-cap",
            ngettext(
                "%(count)s person held back by the frequency cap (%(cap)s, TOCSIN_FREQUENCY_CAP): "
                "they will not get this campaign.",
                "%(count)s people held back by the frequency cap (%(cap)s, TOCSIN_FREQUENCY_CAP): "
                "they will not get this campaign.",
                held,
            )
            % {"count": number_format(held, force_grouping=True), "cap": cap_description()},
        )
    ]


def run_checklist(campaign: Campaign) -> list[Warning]:
    """Every warning about ``campaign`` as it would be sent now."""
    found: list[Warning] = []
    if not campaign.subject.strip():
        found.append(Warning("no-subject", _("The campaign has no subject.")))
    versions = [campaign.language, *sorted(t.language for t in campaign.translations.all())]
    names = dict(settings.LANGUAGES)
    for language in versions:
        label = str(names.get(language, language))
        try:
            found.extend(_version_warnings(campaign, language, label))
        except Exception as error:  # the checklist reports; it must never break the page
            logger.exception("checklist could not render campaign %s in %s", campaign.pk, language)
            found.append(
                Warning(
                    "render-error",
                    _("%(version)s: the email could not be rendered: %(error)s")
                    % {"version": label, "error": str(error)[:300]},
                )
            )
    found.extend(Warning("merge-tag", problem, blocks=True) for problem in lifecycle.content_problems(campaign))
    if campaign.kind == Campaign.Kind.APPEAL and not campaign.call_to_action_url:
        found.append(Warning("no-donate-link", _("This appeal has no donate link (call-to-action URL).")))
    found.extend(_language_warnings(campaign, versions))
    if not campaign.lists.exists():
        found.append(Warning("no-lists", _("No list is chosen: nobody would receive this campaign.")))
    else:
        audience_size = audience.count_audience(campaign)
        if audience_size == 0:
            found.append(Warning("empty-audience", _("The audience is empty: nobody matches these lists and filters.")))
        found.extend(_tracking_warnings(campaign, audience_size))
        found.extend(_cap_warnings(campaign))
    # One warning per problem, however many versions share it; what blocks comes first.
    return sorted(dict.fromkeys(found), key=lambda warning: not warning.blocks)
