"""What an import reads, reports and writes: one shape for every importer in Tocsin."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _

from subscribers.models import MailingList

COLUMNS = ("email", "name", "language", "consent_source", "consent_date")


@dataclass(frozen=True)
class ImportRow:
    line: int
    email: str
    name: str
    language: str
    consent_source: str
    consent_date: datetime | None


@dataclass(frozen=True)
class RowProblem:
    line: int  # 0: the file as a whole
    column: str
    message: str

    def __str__(self) -> str:
        where = _("line %(line)d") % {"line": self.line} if self.line else _("file")
        return f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


@dataclass
class ParsedFile:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowProblem] = field(default_factory=list)
    skipped: list[RowProblem] = field(default_factory=list)


@dataclass
class ImportResult:
    mailing_list: MailingList
    list_created: bool
    rows: int = 0
    created: int = 0
    added: int = 0
    already: int = 0
    skipped: list[RowProblem] = field(default_factory=list)

    def summary(self) -> str:
        return _(
            "%(rows)d rows for list “%(list)s”%(new)s: %(created)d new subscribers, %(added)d existing ones "
            "added, %(already)d already on the list, %(skipped)d skipped."
        ) % {
            "rows": self.rows,
            "list": self.mailing_list.slug,
            "new": _(" (new list)") if self.list_created else "",
            "created": self.created,
            "added": self.added,
            "already": self.already,
            "skipped": len(self.skipped),
        }


class ImportFailed(Exception):
    """The file has errors: nothing was written."""

    def __init__(self, errors: list[RowProblem]) -> None:
        super().__init__(_("%(count)d problem(s) found; nothing was imported.") % {"count": len(errors)})
        self.errors = errors
