"""Reading a suppression list: a generic CSV or Mailchimp's audience exports, as they come.

- Generic: ``email`` (required), ``reason`` (unsubscribed, bounced or
  complained; else the reason chosen for the whole file) and ``date``
  (YYYY-MM-DD or an ISO date-time, in Tocsin's time zone unless it has an
  offset). Other columns are ignored.
- Mailchimp (Audience → Export audience, one CSV per status), told apart by
  the header: ``Email Address`` with ``UNSUB_TIME`` is the unsubscribed
  export (reason: unsubscribed; ``UNSUB_REASON`` and ``UNSUB_CAMPAIGN_TITLE``
  kept as the detail, not the person's free text in ``UNSUB_REASON_OTHER``:
  a suppression outlives GDPR erasure), with ``CLEAN_TIME`` the cleaned
  one (hard bounces; ``CLEAN_CAMPAIGN_TITLE`` kept). Mailchimp's times are UTC.
  The subscribed export is refused: it lists people who may be mailed.

Every row is checked; a bad one is reported with its line and skipped. Only
the file as a whole (not UTF-8 text, no email column) stops the import.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from subscribers.importing.parsing import parse_date, read_email, shown
from subscribers.importing.rows import RowProblem
from subscribers.models import Suppression
from subscribers.text import has_control_characters

REASONS = (Suppression.Reason.UNSUBSCRIBED, Suppression.Reason.BOUNCED, Suppression.Reason.COMPLAINED)
_WORDS = {
    "unsubscribed": Suppression.Reason.UNSUBSCRIBED,
    "unsubscribe": Suppression.Reason.UNSUBSCRIBED,
    "bounced": Suppression.Reason.BOUNCED,
    "bounce": Suppression.Reason.BOUNCED,
    "hard bounce": Suppression.Reason.BOUNCED,
    "cleaned": Suppression.Reason.BOUNCED,
    "complained": Suppression.Reason.COMPLAINED,
    "complaint": Suppression.Reason.COMPLAINED,
    "spam": Suppression.Reason.COMPLAINED,
    "abuse": Suppression.Reason.COMPLAINED,
}
# A physical line longer than this is refused before the csv module sees it
# (its own limit raises in the middle of the file and stops everything).
MAX_LINE = 20_000
_MAX_CELL = {"email": 254, "reason": 40, "date": 40}
_SURROGATE = re.compile("[\ud800-\udfff]")


class SuppressionFileError(ValueError):
    """The file as a whole cannot be read: nothing is imported."""


@dataclass(frozen=True)
class SuppressionRow:
    line: int
    email: str
    reason: Suppression.Reason
    occurred_at: datetime | None
    note: str = ""


@dataclass
class SuppressionFile:
    kind: str
    rows: list[SuppressionRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    duplicates: list[RowProblem] = field(default_factory=list)


@dataclass(frozen=True)
class _Layout:
    """Which column holds what, in the file at hand."""

    kind: str
    email: str
    date: str
    reason: Suppression.Reason | None  # the whole file's, when it has no reason column
    reason_column: str = ""
    notes: tuple[str, ...] = ()
    tz: Any = None


def _layout(columns: list[str], reason: Suppression.Reason | None) -> _Layout:
    notes: tuple[str, ...]
    if "email address" in columns:
        if "clean_time" in columns:
            kind, own, date, notes = (
                _("Mailchimp cleaned export"),
                Suppression.Reason.BOUNCED,
                "clean_time",
                ("clean_campaign_title",),
            )
        elif "unsub_time" in columns:
            kind, own, date = _("Mailchimp unsubscribed export"), Suppression.Reason.UNSUBSCRIBED, "unsub_time"
            notes = ("unsub_reason", "unsub_campaign_title")
        else:
            raise SuppressionFileError(
                _(
                    "This looks like Mailchimp's subscribed export (no UNSUB_TIME or CLEAN_TIME column): it lists "
                    "people who may be mailed. Import the unsubscribed and cleaned exports instead."
                )
            )
        if reason is not None and reason != own:
            raise SuppressionFileError(
                _("A %(kind)s holds “%(own)s” addresses, not “%(chosen)s”.")
                % {"kind": kind, "own": own.label, "chosen": reason.label}
            )
        return _Layout(kind, "email address", date, own, notes=notes, tz=UTC)
    if "email" not in columns:
        raise SuppressionFileError(
            _("No “email” column in the header row (nor Mailchimp's “Email Address”): is this a CSV file?")
        )
    if "reason" not in columns and reason is None:
        raise SuppressionFileError(
            _("The file has no “reason” column: choose the reason (--reason on the command line).")
        )
    return _Layout(_("CSV file"), "email", "date", reason, reason_column="reason" if "reason" in columns else "")


def _lines(text: str, too_long: set[int]) -> Iterator[str]:
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if len(line) > MAX_LINE:
            too_long.add(number)
            yield "\n"
        else:
            yield line


def _cell_problem(column: str, value: str) -> str | None:
    if _SURROGATE.search(value):
        return _("not UTF-8 text (save the file as “CSV UTF-8”)")
    if has_control_characters(value):
        return _("control character in %(value)s") % {"value": shown(value)}
    if len(value) > _MAX_CELL.get(column, 255):
        return _("longer than %(max)d characters") % {"max": _MAX_CELL.get(column, 255)}
    return None


class _Reader:
    def __init__(self, layout: _Layout) -> None:
        self.layout = layout
        self.now = timezone.now()

    def read(self, line: int, cells: dict[str, str]) -> tuple[SuppressionRow | None, list[RowProblem]]:
        layout = self.layout
        wanted = {"email": cells.get(layout.email, ""), "date": cells.get(layout.date, "")}
        if layout.reason_column:
            wanted["reason"] = cells.get(layout.reason_column, "")
        problems = [
            RowProblem(line, column, message)
            for column, value in wanted.items()
            if value and (message := _cell_problem(column, value))
        ]
        if problems:
            return None, problems
        email = read_email(line, wanted["email"], problems)
        reason = layout.reason
        word = " ".join(wanted.get("reason", "").lower().replace("_", " ").split())
        if word:
            reason = _WORDS.get(word)
            if reason is None:
                allowed = ", ".join(choice.value for choice in REASONS)
                message = _("%(value)s is not one of %(allowed)s") % {"value": shown(word), "allowed": allowed}
                problems.append(RowProblem(line, "reason", message))
        elif reason is None:
            problems.append(RowProblem(line, "reason", _("empty, and no reason was chosen for the file")))
        occurred_at = None
        if wanted["date"]:
            try:
                occurred_at = parse_date(wanted["date"], self.now, tz=layout.tz)
            except ValueError as bad:
                problems.append(RowProblem(line, "date", str(bad)))
        if problems or reason is None:
            return None, problems
        notes = [cells.get(name, "") for name in layout.notes]
        note = " · ".join(text for text in notes if text and not _cell_problem("note", text))[:120]
        return SuppressionRow(line, email, reason, occurred_at, note), []


def _decoded(data: bytes) -> str:
    data = data.removeprefix(b"\xef\xbb\xbf")
    if not data.strip():
        raise SuppressionFileError(_("The file is empty."))
    header = data.split(b"\n", 1)[0]
    try:
        header.decode("utf-8")
    except UnicodeDecodeError:
        header = b"\x00"
    if b"\x00" in header:
        raise SuppressionFileError(_("This is not a CSV text file in UTF-8: save it as “CSV UTF-8” and try again."))
    # Bytes that are not UTF-8 further down become lone surrogates, reported
    # by the row that holds them (the rest of the file still counts).
    return data.decode("utf-8", errors="surrogateescape")


def read_suppressions(data: bytes, *, reason: Suppression.Reason | str | None = None) -> SuppressionFile:
    """Every row checked; ``SuppressionFileError`` only when the file as a whole is unreadable."""
    chosen = Suppression.Reason(reason) if reason else None
    too_long: set[int] = set()
    reader = csv.reader(_lines(_decoded(data), too_long))
    try:
        header = next(reader, None) or []
        columns = [name.strip().lstrip("\ufeff").lower() for name in header]
        layout = _layout(columns, chosen)
        parsed = SuppressionFile(kind=layout.kind)
        rows, seen = _Reader(layout), dict[str, int]()
        while True:
            line = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            if any(number in too_long for number in range(line, reader.line_num + 1)):
                message = _("longer than %(max)d characters") % {"max": MAX_LINE}
                parsed.problems.append(RowProblem(line, "", message))
                continue
            if not any(cell.strip() for cell in cells):
                continue
            row, problems = rows.read(line, dict(zip(columns, (cell.strip() for cell in cells), strict=False)))
            parsed.problems.extend(problems)
            if row is None:
                continue
            if row.email in seen:
                message = _("same address as line %(line)d, skipped") % {"line": seen[row.email]}
                parsed.duplicates.append(RowProblem(line, "email", message))
                continue
            seen[row.email] = line
            parsed.rows.append(row)
    except csv.Error as exc:
        raise SuppressionFileError(
            _("Line %(line)d is not a readable CSV row (%(error)s).") % {"line": reader.line_num, "error": exc}
        ) from None
    return parsed
