"""Markdown source -> the plain-text part of an email.

Spam filters and text-only readers (and screen readers on some clients) see
this part, so it is written from the same Markdown the HTML comes from, not
scraped out of the HTML: paragraphs re-flowed to 72 columns, headings
underlined, links kept as "text (url)" so that every link survives.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Callable

from subscribers.text import squash_spaces

WIDTH = 72

_FENCE = re.compile(r"^\s*(```|~~~)")
_ATX_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")
_HR = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$")
_QUOTE = re.compile(r"^\s*>\s?(.*)$")
_REF_DEF = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s*<?(\S+?)>?(?:\s+[\"'(].*[\"')])?\s*$")

_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\s?\[([^\]]*)\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_HTML_LINK = re.compile(r"<a\s[^>]*?href=[\"']([^\"']+)[\"'][^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_CODE = re.compile(r"`([^`]+)`")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>])")


def markdown_to_text(source: str, *, absolute: Callable[[str], str] | None = None, width: int = WIDTH) -> str:
    """Plain text for ``source`` (Markdown); ``absolute`` turns site-relative URLs into full ones."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4).split("\n")
    references: dict[str, str] = {}
    kept: list[str] = []
    for line in lines:
        match = _REF_DEF.match(line)
        if match:
            references[match.group(1).lower()] = match.group(2)
        else:
            kept.append(line)

    def fix_url(url: str) -> str:
        return absolute(url) if absolute else url

    def inline(text: str) -> str:
        text = _CODE.sub(lambda m: m.group(1), text)
        text = _IMAGE.sub(lambda m: f"[{m.group(1)}]" if m.group(1) else "", text)
        text = _LINK.sub(lambda m: _link(m.group(1), fix_url(m.group(2))), text)

        def ref_link(m: re.Match[str]) -> str:
            url = references.get((m.group(2) or m.group(1)).lower())
            return _link(m.group(1), fix_url(url)) if url else m.group(0)

        text = _REF_LINK.sub(ref_link, text)
        text = _AUTOLINK.sub(lambda m: m.group(1), text)
        text = _HTML_LINK.sub(lambda m: _link(_TAG.sub("", m.group(2)), fix_url(m.group(1))), text)
        text = _HTML_BREAK.sub("\n", text)
        text = _TAG.sub("", text)
        text = _STRONG.sub(lambda m: m.group(2), text)
        text = _EMPHASIS.sub(lambda m: m.group(2), text)
        text = _ESCAPED.sub(lambda m: m.group(1), text)
        return html.unescape(text)

    blocks: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            # Two trailing spaces are Markdown's hard line break: keep those breaks.
            segments = " ".join(line.strip() if not line.endswith("  ") else line.strip() + "\n" for line in paragraph)
            text = inline(segments)
            blocks.append("\n".join(_wrap(part, width) for part in text.split("\n")))
            paragraph.clear()

    index = 0
    while index < len(kept):
        line = kept[index]
        if _FENCE.match(line):
            flush()
            fence = _FENCE.match(line).group(1)  # type: ignore[union-attr]
            code: list[str] = []
            index += 1
            while index < len(kept) and not kept[index].strip().startswith(fence):
                code.append("    " + kept[index])
                index += 1
            blocks.append("\n".join(code))
        elif not line.strip():
            flush()
        elif heading := _ATX_HEADING.match(line):
            flush()
            title = inline(heading.group(2))
            blocks.append(_underline(title, "=" if len(heading.group(1)) == 1 else "-"))
        elif paragraph and len(paragraph) == 1 and _SETEXT_UNDERLINE.match(line) and not _LIST_ITEM.match(paragraph[0]):
            title = inline(paragraph[0].strip())
            paragraph.clear()
            blocks.append(_underline(title, "=" if line.strip().startswith("=") else "-"))
        elif _HR.match(line):
            flush()
            blocks.append("-" * 20)
        elif item := _LIST_ITEM.match(line):
            flush()
            entries: list[tuple[str, str]] = []  # (marker with indent, raw text)
            while index < len(kept):
                item = _LIST_ITEM.match(kept[index])
                if item:
                    marker = item.group(2) if item.group(2)[0].isdigit() else "*"
                    entries.append(("  " * (len(item.group(1)) // 2) + marker + " ", item.group(3)))
                elif kept[index].strip() and kept[index].startswith(" ") and entries:
                    # A continuation line of the previous item: re-flow it with the item.
                    marker, text = entries.pop()
                    entries.append((marker, text + " " + kept[index].strip()))
                else:
                    break
                index += 1
            items = [_hanging(inline(text), marker, width) for marker, text in entries]
            blocks.append("\n".join(items))
            continue
        elif _QUOTE.match(line):
            flush()
            quoted: list[str] = []
            while index < len(kept) and (quote := _QUOTE.match(kept[index])):
                quoted.append(quote.group(1))
                index += 1
            inner = markdown_to_text("\n".join(quoted), absolute=absolute, width=width - 2)
            blocks.append("\n".join(("> " + row).rstrip() for row in inner.split("\n")))
            continue
        else:
            paragraph.append(line)
        index += 1
    flush()
    return "\n\n".join(block for block in blocks if block.strip()).strip("\n")


def _link(text: str, url: str) -> str:
    text = text.strip()
    if not text or text == url or text == url.removeprefix("mailto:"):
        return url
    return f"{text} ({url})"


def _underline(title: str, char: str) -> str:
    title = squash_spaces(title)
    return f"{title}\n{char * min(len(title), WIDTH)}"


def _wrap(text: str, width: int) -> str:
    # URLs must never be broken across lines: a broken link is a dead link.
    return textwrap.fill(squash_spaces(text), width=width, break_long_words=False, break_on_hyphens=False)


def _hanging(text: str, marker: str, width: int) -> str:
    return textwrap.fill(
        squash_spaces(text),
        width=width,
        initial_indent=marker,
        subsequent_indent=" " * len(marker),
        break_long_words=False,
        break_on_hyphens=False,
    )


def wrap(text: str, *, width: int = WIDTH) -> str:
    """Re-flow plain text (e.g. an article summary), keeping its paragraph breaks."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return "\n\n".join(_wrap(p, width) for p in paragraphs if p.strip())
