"""Shared plumbing for the sending benchmarks: a throwaway database, demo data, real workers.

Everything runs against a database of its own (``BENCH_DATABASE_URL``,
default ``postgres://postgres@127.0.0.1:5432/tocsin_bench``, dropped and
re-created each run; SQLite under var/bench/ when no Postgres answers) and a
Redis database of its own (``BENCH_REDIS_URL``, default db 15, flushed), so a
benchmark never touches real data.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"


def _postgres_up(url: str) -> bool:
    try:
        import psycopg

        parts = urlsplit(url)
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, connect_timeout=2, autocommit=True) as conn:
            name = parts.path.lstrip("/")
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return True
    except Exception as error:  # no server, no rights: fall back to SQLite
        print(f"  (Postgres at {url} unusable: {error}; falling back to SQLite)")
        return False


def throwaway_database(name: str, *, reuse: bool = False) -> tuple[str, Callable[[], None], bool]:
    """A database of one benchmark's own: ``(url, drop, reused)``.

    PostgreSQL ``tocsin_<name>`` (or ``BENCH_DATABASE_URL``), dropped and
    created afresh unless ``reuse`` finds it there; a SQLite file under
    var/bench/ when no Postgres answers. ``drop()`` removes it afterwards.
    """
    VAR.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/tocsin_{name}")
    if url.startswith("postgres"):
        if reuse and _postgres_exists(url):
            return url, lambda: _postgres_drop(url), True
        if _postgres_up(url):
            return url, lambda: _postgres_drop(url), False
    sqlite = VAR / f"{name}.sqlite3"
    sqlite.unlink(missing_ok=True)
    return f"sqlite:///{sqlite}", lambda: sqlite.unlink(missing_ok=True), False


def _postgres_admin(url: str, statement: str, params: list[str] | None = None) -> Any:
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, connect_timeout=2, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall() if params else conn.execute(statement)


def _postgres_exists(url: str) -> bool:
    try:
        name = urlsplit(url).path.lstrip("/")
        return bool(_postgres_admin(url, "SELECT 1 FROM pg_database WHERE datname = %s", [name]))
    except Exception:  # no server: the caller falls back to SQLite
        return False


def _postgres_drop(url: str) -> None:
    _postgres_admin(url, f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')


def prepare_environment(*, name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Point this process (and the workers it starts) at the benchmark's own database and Redis."""
    database_url, _drop, _reused = throwaway_database(name)
    if database_url.startswith("sqlite"):
        print("  WARNING: SQLite: two worker processes contend for one write lock; figures are not representative")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CACHE_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "TOCSIN_SEND_STATS": "1",
        "LOG_LEVEL": "WARNING",
        **(extra or {}),
    }
    for key in ("ESP", "EMAIL_URL", "CELERY_BROKER_URL"):
        os.environ.pop(key, None)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    from django.conf import settings
    from django.core.management import call_command

    # Tables straight from the models (as the tests do): the benchmark must not
    # depend on migrations being regenerated.
    settings.MIGRATION_MODULES = {app.label: None for app in django.apps.apps.get_app_configs()}
    call_command("migrate", run_syncdb=True, verbosity=0)
    return env


def seed(subscribers: int) -> Any:
    """N confirmed subscribers on one list and a ~10 KB bulletin of five articles; returns the campaign."""
    from django.utils import timezone

    from campaigns.content.articles import save_article
    from campaigns.models import Article, Campaign, CampaignArticle
    from subscribers.models import MailingList, Subscriber, Subscription

    started = time.perf_counter()
    news = MailingList.objects.create(slug="news", name="Bulletin")
    now = timezone.now()
    languages = ["en", "es", "fr"]
    chunk = 5000
    for start in range(0, subscribers, chunk):
        Subscriber.objects.bulk_create(
            [
                Subscriber(
                    email=f"reader{i}@bench.example.org",
                    name=f"Reader {i}" if i % 4 else "",
                    language=languages[i % 3],
                    status=Subscriber.Status.CONFIRMED,
                    confirmed_at=now,
                )
                for i in range(start, min(start + chunk, subscribers))
            ]
        )
    ids = Subscriber.objects.order_by("id").values_list("id", flat=True)
    batch: list[Subscription] = []
    for subscriber_id in ids.iterator(chunk_size=chunk):
        batch.append(Subscription(subscriber_id=subscriber_id, mailing_list=news))
        if len(batch) >= chunk:
            Subscription.objects.bulk_create(batch)
            batch = []
    Subscription.objects.bulk_create(batch)

    paragraph = (
        "Community monitors in the **Cajamarca** highlands reported that the company's tailings dam "
        "overflowed after three days of rain, sending grey water into the irrigation channels that feed "
        "[the valley's farms](https://example.org/reports/cajamarca). Regional authorities declared an "
        "emergency but have not ordered the mine to stop operating. "
    )
    campaign = Campaign.objects.create(
        subject="Bulletin: water, land and the right to protest",
        preheader="Five stories from the front lines this month",
        intro_markdown="Dear {{ name|default:'friend' }},\n\n" + paragraph,
        body_markdown=paragraph * 2,
        call_to_action_text="Support the defenders",
        call_to_action_url="https://example.org/donate",
    )
    campaign.lists.set([news])
    for n in range(5):
        article = Article(
            slug=f"story-{n}",
            title=f"Story {n + 1}: defenders under pressure",
            summary=paragraph[:200],
            body_markdown=paragraph * 4,
            status=Article.Status.PUBLISHED,
        )
        save_article(article=article, publish=True)
        CampaignArticle.objects.create(campaign=campaign, article=article, position=n)
    print(f"  seeded {subscribers:,} subscribers in {time.perf_counter() - started:.1f} s")
    settle()
    return campaign


def settle() -> None:
    """Leave freshly loaded tables as a real database has them: vacuumed, analysed, on disk.

    Without this the send starts while Postgres is still writing out the
    rows just loaded (a checkpoint forced by the load's WAL), and with no
    statistics on the subscriber tables.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    from subscribers.models import Subscriber, Subscription

    with connection.cursor() as cursor:
        for model in (Subscriber, Subscription):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
        cursor.execute("CHECKPOINT")


class Worker:
    """``celery -A config worker`` as a subprocess: one parent, ``concurrency`` pool processes."""

    def __init__(self, env: dict[str, str], *, concurrency: int = 2, queues: str = "urgent,default,bulk") -> None:
        # The worker runs in a session of its own (so that it can be stopped as a
        # group): make SIGTERM/SIGINT to the benchmark run its cleanup instead of
        # orphaning the worker on a shared broker.
        signal.signal(signal.SIGTERM, _exit)
        signal.signal(signal.SIGINT, _exit)
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues, "-c", str(concurrency),
             "--without-gossip", "--without-mingle", "--loglevel", "INFO", "-n", f"bench-{os.getpid()}@%h"],
            cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        threading.Thread(target=self._pump, daemon=True).start()
        if not self.ready.wait(90):
            self.stop()
            raise RuntimeError("the worker did not start:\n" + "\n".join(self.lines[-40:]))

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for raw in iter(self.process.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            self.lines.append(line)
            del self.lines[:-500]
            if " ready." in line:
                self.ready.set()

    def peak_rss_mb(self) -> dict[str, float]:
        """Peak RSS (VmHWM) of the parent and of each pool process, measured separately."""
        result = {}
        pids = [self.process.pid, *_children(self.process.pid)]
        for n, pid in enumerate(pids):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"VmHWM:\s+(\d+) kB", status)
            if match:
                result["parent" if n == 0 else f"child-{n}"] = int(match.group(1)) / 1024
        return result

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _exit(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


class CpuMeter:
    """CPU seconds spent by each kind of process while a send runs (Linux /proc; empty elsewhere).

    Sampled every 0.2 s from a thread, so that short-lived Postgres backends
    count too. ``per_message`` says where the machine's cores went: a message
    costs worker CPU, database CPU and sink CPU, all on the same two cores.
    """

    HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, groups: dict[str, Any]) -> None:
        self.groups = groups  # name -> predicate(pid, comm, cmdline)
        self.start: dict[tuple[int, str], float] = {}
        self.last: dict[tuple[int, str], tuple[str, float]] = {}
        self.stop_event = threading.Event()
        self.busy_start = self.busy_end = 0.0
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _read(self) -> dict[tuple[int, str], tuple[str, float]]:
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
            for name, matches in self.groups.items():
                if matches(int(entry.name), comm, cmdline):
                    key = (int(entry.name), rest[19])  # pid and start time: a reused pid is another process
                    found[key] = (name, (int(rest[11]) + int(rest[12])) / self.HZ)
                    break
        return found

    @staticmethod
    def _busy() -> float:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except OSError:
            return 0.0
        return (sum(fields) - fields[3] - fields[4]) / CpuMeter.HZ  # all but idle and iowait

    def _loop(self) -> None:
        while not self.stop_event.wait(0.2):
            self.last.update(self._read())

    def __enter__(self) -> CpuMeter:
        if Path("/proc/stat").exists():
            self.start = {key: cpu for key, (_name, cpu) in self._read().items()}
            self.busy_start = self._busy()
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive():
            self.stop_event.set()
            self.thread.join()
            self.last.update(self._read())
            self.busy_end = self._busy()

    def seconds(self) -> dict[str, float]:
        totals: dict[str, float] = dict.fromkeys(self.groups, 0.0)
        for key, (name, cpu) in self.last.items():
            totals[name] += cpu - self.start.get(key, 0.0)
        totals["whole machine"] = self.busy_end - self.busy_start
        return totals


def run_send(campaign: Any, *, timeout: float = 3600) -> dict[str, float]:
    """Start the send the way a worker would (snapshot here, timed), wait for the last delivery."""
    from django.db import transaction

    from campaigns import lifecycle, tasks
    from campaigns.models import Campaign, Delivery

    started = time.perf_counter()
    with transaction.atomic():
        lifecycle.transition(campaign, Campaign.Status.SENDING)
    tasks.prepare(campaign.pk)  # snapshot + batches, then the workers take over
    snapshot = time.perf_counter() - started
    total = Delivery.objects.filter(campaign=campaign).count()
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    while Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk) != Campaign.Status.SENT:
        if time.monotonic() > deadline:
            raise RuntimeError("the send did not finish in time")
        if time.monotonic() - last_report > 5:
            counts = lifecycle.campaign_counts(campaign)
            print(f"    … {counts['sent']:,}/{total:,} sent")
            last_report = time.monotonic()
        time.sleep(0.2)  # the finish time is read to within 0.2 s; polling faster costs the send CPU
    elapsed = time.perf_counter() - started
    counts = lifecycle.campaign_counts(campaign)
    return {"elapsed": elapsed, "snapshot": snapshot, "recipients": total, **counts}


def stage_stats(campaign_id: int) -> dict[str, float]:
    import redis
    from django.conf import settings

    raw = redis.Redis.from_url(settings.REDIS_URL).hgetall(f"tocsin:send-stats:{campaign_id}")
    return {key.decode(): float(value) for key, value in raw.items()}


@contextmanager
def timer(label: str):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    yield
    print(f"  {label}: {time.perf_counter() - started:.2f} s")
