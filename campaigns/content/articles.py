"""Article content: Markdown in, sanitised HTML out, and the save/publish service.

``markdown_to_html`` is the one way Markdown written by staff (articles,
campaign intros and bodies) becomes HTML, on the site, in the feed and in
emails. Staff accounts can be phished, so the HTML is sanitised with nh3 (a
maintained allow-list sanitiser) rather than trusted: whatever a stolen
account types, no script reaches a reader.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from urllib.parse import urljoin

import markdown
import nh3
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Article

_MARKDOWN_EXTENSIONS = ["extra", "sane_lists", "smarty"]

_ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
# The content of these goes too, not only the tags: "<script>alert(1)</script>"
# must not leave "alert(1)" as visible text.
_CLEAN_CONTENT_TAGS = {"script", "style", "iframe", "object", "embed", "noscript", "template", "textarea", "select"}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"},
    "q": {"cite"},
    "blockquote": {"cite"},
    # Footnotes from Markdown's "extra" link to ids inside the article.
    "*": {"id", "lang"},
}
_URL_SCHEMES = {"http", "https", "mailto"}


def _absolute_url_rewriter(site_url: str):  # type: ignore[no-untyped-def]
    base = site_url.rstrip("/") + "/"

    def rewrite(url: str) -> str | None:
        # In-page anchors (footnotes) stay relative; everything else must work
        # outside the site too: in an email, a feed reader, a social card.
        if url.startswith("#"):
            return url
        return urljoin(base, url)

    return rewrite


@lru_cache(maxsize=4)
def _cleaner(site_url: str) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=_ALLOWED_TAGS,
        clean_content_tags=_CLEAN_CONTENT_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        url_relative=_absolute_url_rewriter(site_url),
        link_rel="noopener",
        strip_comments=True,
    )


def sanitize_html(raw_html: str) -> str:
    """Keep the harmless structure of ``raw_html``; drop scripts, styles, handlers and unsafe URLs."""
    return _cleaner(settings.SITE_URL).clean(raw_html)


def markdown_to_html(text: str) -> str:
    """Markdown (raw HTML allowed, then sanitised) -> safe HTML with absolute links and images."""
    if not text or not text.strip():
        return ""
    rendered = markdown.markdown(text, extensions=_MARKDOWN_EXTENSIONS, output_format="html")
    return sanitize_html(rendered).strip()


_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ALT_ATTR = re.compile(r"""\salt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_SRC_ATTR = re.compile(r"""\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def images_missing_alt(sanitised_html: str) -> list[str]:
    """The ``src`` of every image without a meaningful alt text (screen readers read nothing useful).

    Works on our own sanitised output, whose attributes nh3 always writes
    double-quoted, so a regular expression is enough here.
    """
    missing = []
    for tag in _IMG_TAG.findall(sanitised_html or ""):
        alt = _ALT_ATTR.search(tag)
        alt_text = next((g for g in alt.groups() if g is not None), "") if alt else ""
        if not alt_text.strip():
            src = _SRC_ATTR.search(tag)
            src_text = next((g for g in src.groups() if g is not None), "") if src else ""
            missing.append(html.unescape(src_text))
    return missing


def article_alt_text_warnings(article: Article) -> list[str]:
    """Human-readable warnings about images in ``article`` that lack alt text."""
    warnings = []
    if article.lead_image_url and not article.lead_image_alt.strip():
        warnings.append(str(_("The lead image has no alt text.")))
    for src in images_missing_alt(article.body_html):
        warnings.append(str(_("An image in the body has no alt text: %(src)s")) % {"src": src or "?"})
    return warnings


def save_article(*, article: Article, publish: bool = False) -> Article:
    """Render the body, stamp the publication date the first time it is published, and save.

    Rendering here (not in ``Model.save``) keeps bulk updates and migrations
    from silently re-rendering, and keeps one place that decides what "publish" means.
    """
    article.body_html = markdown_to_html(article.body_markdown)
    if publish:
        article.status = Article.Status.PUBLISHED
    if article.status == Article.Status.PUBLISHED and article.published_at is None:
        article.published_at = timezone.now()
    article.save()
    return article


def publish_article(*, article: Article) -> Article:
    return save_article(article=article, publish=True)


def unpublish_article(*, article: Article) -> Article:
    """Back to draft: the public gets a 404 again; the first publication date is kept for the record."""
    article.status = Article.Status.DRAFT
    return save_article(article=article)
