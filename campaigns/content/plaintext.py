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
    return _TextWriter(kept, references=references, absolute=absolute, width=width).text()


class _TextWriter:
    """One Markdown source (reference definitions taken out) as plain-text blocks, block by block."""

    def __init__(
        self, lines: list[str], *, references: dict[str, str], absolute: Callable[[str], str] | None, width: int
    ) -> None:
        self.lines = lines
        self.references = references
        self.absolute = absolute
        self.width = width
        self.blocks: list[str] = []
        self.paragraph: list[str] = []

    def text(self) -> str:
        index = 0
        while index < len(self.lines):
            index = self.block(index)
        self.flush()
        return "\n\n".join(block for block in self.blocks if block.strip()).strip("\n")

    def block(self, index: int) -> int:
        """Write the block starting at line ``index``; the index of the line after it."""
        line = self.lines[index]
        if fence := _FENCE.match(line):
            self.flush()
            return self.code(index + 1, fence.group(1))
        if self.is_setext_underline(line):
            title = self.inline(self.paragraph[0].strip())
            self.paragraph.clear()
            self.blocks.append(_underline(title, "=" if line.strip().startswith("=") else "-"))
            return index + 1
        if not line.strip() or _ATX_HEADING.match(line) or _HR.match(line):
            self.flush()
            self.blocks.append(self.one_line_block(line))
            return index + 1
        # After the rule: "- - -" is a rule, not a list item.
        if _LIST_ITEM.match(line):
            self.flush()
            return self.list_items(index)
        if _QUOTE.match(line):
            self.flush()
            return self.quote(index)
        self.paragraph.append(line)
        return index + 1

    def one_line_block(self, line: str) -> str:
        """A heading, a rule, or nothing for a blank line."""
        if heading := _ATX_HEADING.match(line):
            return _underline(self.inline(heading.group(2)), "=" if len(heading.group(1)) == 1 else "-")
        return "-" * 20 if line.strip() else ""

    def is_setext_underline(self, line: str) -> bool:
        """A line of = or - under a one-line paragraph makes it a heading (not under a list item)."""
        return (
            len(self.paragraph) == 1 and bool(_SETEXT_UNDERLINE.match(line)) and not _LIST_ITEM.match(self.paragraph[0])
        )

    def code(self, index: int, fence: str) -> int:
        code: list[str] = []
        while index < len(self.lines) and not self.lines[index].strip().startswith(fence):
            code.append("    " + self.lines[index])
            index += 1
        self.blocks.append("\n".join(code))
        return index + 1  # past the closing fence

    def list_items(self, index: int) -> int:
        entries: list[tuple[str, str]] = []  # (marker with indent, raw text)
        while index < len(self.lines):
            line = self.lines[index]
            if item := _LIST_ITEM.match(line):
                marker = item.group(2) if item.group(2)[0].isdigit() else "*"
                entries.append(("  " * (len(item.group(1)) // 2) + marker + " ", item.group(3)))
            elif line.strip() and line.startswith(" ") and entries:
                # A continuation line of the previous item: re-flow it with the item.
                marker, text = entries.pop()
                entries.append((marker, text + " " + line.strip()))
            else:
                break
            index += 1
        self.blocks.append("\n".join(_hanging(self.inline(text), marker, self.width) for marker, text in entries))
        return index

    def quote(self, index: int) -> int:
        quoted: list[str] = []
        while index < len(self.lines) and (quote := _QUOTE.match(self.lines[index])):
            quoted.append(quote.group(1))
            index += 1
        inner = markdown_to_text("\n".join(quoted), absolute=self.absolute, width=self.width - 2)
        self.blocks.append("\n".join(("> " + row).rstrip() for row in inner.split("\n")))
        return index

    def flush(self) -> None:
        if self.paragraph:
            # Two trailing spaces are Markdown's hard line break: keep those breaks.
            segments = " ".join(
                line.strip() if not line.endswith("  ") else line.strip() + "\n" for line in self.paragraph
            )
            text = self.inline(segments)
            self.blocks.append("\n".join(_wrap(part, self.width) for part in text.split("\n")))
            self.paragraph.clear()

    def url(self, url: str) -> str:
        return self.absolute(url) if self.absolute else url

    def reference_link(self, match: re.Match[str]) -> str:
        url = self.references.get((match.group(2) or match.group(1)).lower())
        return _link(match.group(1), self.url(url)) if url else match.group(0)

    def inline(self, text: str) -> str:
        text = _CODE.sub(lambda m: m.group(1), text)
        text = _IMAGE.sub(lambda m: f"[{m.group(1)}]" if m.group(1) else "", text)
        text = _LINK.sub(lambda m: _link(m.group(1), self.url(m.group(2))), text)
        text = _REF_LINK.sub(self.reference_link, text)
        text = _AUTOLINK.sub(lambda m: m.group(1), text)
        text = _HTML_LINK.sub(lambda m: _link(_TAG.sub("", m.group(2)), self.url(m.group(1))), text)
        text = _HTML_BREAK.sub("\n", text)
        text = _TAG.sub("", text)
        text = _STRONG.sub(lambda m: m.group(2), text)
        text = _EMPHASIS.sub(lambda m: m.group(2), text)
        text = _ESCAPED.sub(lambda m: m.group(1), text)
        return html.unescape(text)


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
