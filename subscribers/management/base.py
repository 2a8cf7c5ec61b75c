"""The base of Tocsin's management commands: arguments obey subscribers/text.py too.

A shell passes whatever it is given: ``--list $'news\\x1b[2J'`` or a name
with a line break reaches the database or the terminal as it is, and bytes
that are not UTF-8 arrive as lone surrogates (Python decodes argv with
``surrogateescape``), which crash the first print or query with a
traceback. Here each is a one-line CommandError (exit status 1) naming the
argument, before the command runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from subscribers.text import text_problem


def _strings(name: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(name, item)


class TocsinCommand(BaseCommand):
    def execute(self, *args: Any, **options: Any) -> Any:
        arguments = [*_strings("argument", list(args))]
        for key, value in options.items():
            arguments.extend(_strings(key, value))
        for name, value in arguments:
            problem = text_problem(value, single_line=True)
            if problem:
                raise CommandError(f"{name}: {problem}")
        return super().execute(*args, **options)
