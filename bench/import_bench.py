"""How long does ``manage.py import_subscribers`` take for 100,000 rows?

Usage: .venv/bin/python bench/import_bench.py [ROWS]

Target (SPEC): under 30 s for 100,000 rows. Builds a throw-away database
(PostgreSQL ``tocsin_import``, or BENCH_DATABASE_URL, dropped afterwards;
SQLite when no Postgres answers: bench/common.py), with 10 % of the file's people already
subscribed elsewhere and 1 % suppressed, writes the CSV, then times the
command end to end (parse, check every row, write in one transaction), and
a second run of the same file (everyone already there).
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("CACHE_URL", "locmem://")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

_URL, _drop_database, _ = common.throwaway_database("import")
os.environ["DATABASE_URL"] = _URL
_POSTGRES = _URL.startswith("postgres")

import django  # noqa: E402

django.setup()

from django.apps import apps  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402


def build(rows: int, folder: Path) -> Path:
    from subscribers.models import MailingList, Subscriber, Subscription, Suppression, email_hash

    # Tables straight from the models: the bench must not depend on migrations being current.
    with connection.schema_editor() as editor:
        for model in apps.get_models():
            editor.create_model(model)
    elsewhere = MailingList.objects.create(slug="canada", name="Canada policy")
    existing = Subscriber.objects.bulk_create(
        Subscriber(email=f"person{n}@example.org", status=Subscriber.Status.CONFIRMED) for n in range(0, rows, 10)
    )
    Subscription.objects.bulk_create(Subscription(subscriber=s, mailing_list=elsewhere) for s in existing)
    Suppression.objects.bulk_create(
        Suppression(email_hash=email_hash(f"person{n}@example.org"), reason=Suppression.Reason.BOUNCED)
        for n in range(5, rows, 100)
    )
    path = folder / "supporters.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("email,name,language,consent_source,consent_date\n")
        languages = ("en", "es", "fr")
        for n in range(rows):
            handle.write(
                f"person{n}@example.org,Person {n},{languages[n % 3]},Book fair 2024,2024-05-{1 + n % 28:02d}\n"
            )
    return path


def timed_import(path: Path) -> tuple[float, str]:
    out = io.StringIO()
    started = time.perf_counter()
    call_command("import_subscribers", str(path), "--list", "peru", stdout=out)
    elapsed = time.perf_counter() - started
    return elapsed, out.getvalue().strip().splitlines()[-1]


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    vendor = "PostgreSQL" if _POSTGRES else "SQLite"
    print(f"import bench: {rows:,} CSV rows on {vendor}")
    with tempfile.TemporaryDirectory() as folder:
        path = build(rows, Path(folder))
        first, summary = timed_import(path)
        print(f"  first import: {first:.1f} s (target < 30 s) — {summary}")
        again, summary = timed_import(path)
        print(f"  same file again: {again:.1f} s — {summary}")


if __name__ == "__main__":
    try:
        main()
    finally:
        connection.close()
        _drop_database()
