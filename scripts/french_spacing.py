"""French typography in locale/fr: a non-breaking space before ? ! : ; and inside « »,
and the apostrophe as ’ (U+2019).

French sets a space before those four marks and inside guillemets, and it
must not break: a line that starts with "?" or ends with "«" looks broken
on a phone. ``make translations`` runs this after collecting strings, so a
translator can type ordinary spaces and the keyboard's ' ("l'action");
tests/test_translations.py fails on any French string that still has one.

Left alone: placeholders (%(name)s, {{ var }}), HTML tags and entities, URLs, and code
copied verbatim from the English source ("Content-Type: application/json").
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
NBSP = "\u00a0"
NARROW_NBSP = "\u202f"
SPACES = NBSP + NARROW_NBSP
APOSTROPHE = "\u2019"
# A straight quote between two letters is an elided article or pronoun
# ("l'action", "qu'une"); elsewhere it quotes code ("'Authorization: …'").
_STRAIGHT_APOSTROPHE = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])")

_PROTECTED = re.compile(
    r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]"  # %(name)s
    r"|\{\{.*?\}\}|\{%.*?%\}"  # template variables and tags
    r"|</?[a-zA-Z][^>]*>"  # HTML tags
    r"|[a-z][a-z0-9+.-]*://\S+|mailto:\S+"  # URLs
    r"|!\["  # a Markdown image
    r"|&(?:[a-zA-Z]+|#[0-9]+|#x[0-9a-fA-F]+);"  # an HTML entity (&lt;): its ";" is no French semicolon
)
# "Authorization: Bearer", "double_opt_in: true": code keeps its own colon.
_CODE = re.compile(r"[\w-]+: \S+")
_MARK = "?!:;"
# What may follow a mark that ends a word: a space, the end, or a closing sign.
_AFTER = r"(?=\s|$|[)»\"\u2019<\0?!])"


def _masked(text: str, source: str) -> tuple[str, list[str]]:
    """``text`` with the fragments we must not touch replaced by \\0 (and the fragments)."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return "\0"

    code = [fragment for fragment in _CODE.findall(source) if fragment in text]
    if code:
        text = re.sub("|".join(re.escape(fragment) for fragment in code), keep, text)
    return _PROTECTED.sub(keep, text), kept


def _unmasked(text: str, kept: list[str]) -> str:
    pieces = iter(kept)
    return re.sub("\0", lambda _match: next(pieces), text)


def fix(text: str, *, source: str = "") -> str:
    """``text`` with French spacing; ``source`` is the English msgid (for code fragments)."""
    masked, kept = _masked(text, source)
    # An ordinary space (or several) before the mark becomes one non-breaking space.
    masked = re.sub(rf"[ \t{NBSP}]+([{_MARK}]){_AFTER}", NBSP + r"\1", masked)
    # No space at all, at the end of a word or a placeholder: add one. Not
    # inside "?!" or "…?", and not before a mark that ends a URL-like token.
    masked = re.sub(rf"(?<=[\w\0)\]\u201d\u2019'\"%.…])([{_MARK}]){_AFTER}", NBSP + r"\1", masked)
    masked = re.sub(rf"«(?!{NARROW_NBSP})[ \t{NBSP}]*", "«" + NBSP, masked)
    masked = re.sub(rf"(?<!{NARROW_NBSP})[ \t{NBSP}]*»", NBSP + "»", masked)
    masked = _STRAIGHT_APOSTROPHE.sub(APOSTROPHE, masked)
    return _unmasked(masked, kept)


def problems(text: str, *, source: str = "") -> list[str]:
    """The places in ``text`` where French spacing is wrong, with a little context."""
    masked, _kept = _masked(text, source)
    found = []
    patterns = (
        rf"[^{SPACES}{_MARK}][{_MARK}]{_AFTER}",  # a mark not preceded by a non-breaking space
        rf"«(?![{SPACES}])",
        rf"(?<![{SPACES}])»",
        rf"[{SPACES}][ {SPACES}]|[ ][{SPACES}]",  # one space, never two
        _STRAIGHT_APOSTROPHE.pattern,
    )
    for pattern in patterns:
        for match in re.finditer(pattern, masked):
            start, end = max(0, match.start() - 20), match.end() + 20
            found.append(masked[start:end].replace("\0", "…"))
    return found


def fix_file(path: Path) -> int:
    """Fix every French string in ``path``; returns how many entries changed."""
    po = polib.pofile(str(path), wrapwidth=79)
    changed = 0
    for entry in po:
        if entry.obsolete:
            continue
        if entry.msgstr:
            fixed = fix(entry.msgstr, source=entry.msgid)
            if fixed != entry.msgstr:
                entry.msgstr, changed = fixed, changed + 1
        for index, text in list(entry.msgstr_plural.items()):
            fixed = fix(text, source=entry.msgid_plural or entry.msgid)
            if fixed != text:
                entry.msgstr_plural[index], changed = fixed, changed + 1
    if changed:
        po.save()
    return changed


def main() -> int:
    for path in sorted(ROOT.glob("locale/fr*/LC_MESSAGES/*.po")):
        changed = fix_file(path)
        if changed:
            print(f"{path.relative_to(ROOT)}: French typography fixed in {changed} string(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
