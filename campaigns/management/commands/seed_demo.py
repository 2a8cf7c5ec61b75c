"""`manage.py seed_demo`: the demo lists, articles, supporters and staff login.

Idempotent: run it any number of times (`make run` does, at every start) and
it adds only what is missing; it never overwrites what staff have edited.
The demo login's password is generated once and kept in
``var/demo-password.txt`` (or taken from TOCSIN_DEMO_PASSWORD).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from campaigns.content import demo
from campaigns.models import Article
from campaigns.staff.roles import ensure_roles
from campaigns.staff.two_factor import issue_backup_code
from subscribers.management.base import TocsinCommand
from subscribers.models import Consent, MailingList, Subscriber, Subscription

DEMO_USERNAME = "demo"


def demo_password_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-password.txt"


def demo_password() -> str:
    """The demo login's password: from the environment, or generated once and kept under var/."""
    from_env = os.environ.get("TOCSIN_DEMO_PASSWORD", "").strip()
    if from_env:
        return from_env
    path = demo_password_file()
    if path.exists() and path.read_text().strip():
        return path.read_text().strip()
    password = secrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Readable by the operator only: it opens a superuser account.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password


def _save_article(article: Article) -> None:
    try:
        from campaigns.content.articles import save_article
    except ImportError:
        article.save()
        return
    save_article(article=article)


class Command(TocsinCommand):
    help = "Load the demo lists, articles, supporters and staff login (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            ensure_roles()
            lists = self._lists()
            user, password = self._staff()
            articles = self._articles(lists, author=user)
            supporters = self._subscribers(lists)
            more = self._apps_above(author=user)
            # The demo login is a superuser, so the admin asks for a second factor
            # (campaigns/staff/two_factor.py): a fresh single-use backup code lets a newcomer in,
            # after which they can set up an authenticator app at /admin/2fa/setup/.
            backup_code = issue_backup_code(user)
        code_file = Path(settings.VAR_DIR) / "demo-2fa-code.txt"
        code_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(code_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(backup_code + "\n")
        self.stdout.write(
            f"Demo content: {len(lists)} lists, {articles} new article(s), {supporters} new supporter(s)."
        )
        for line in more:
            self.stdout.write(line)
        if password:
            self.stdout.write(f"Demo staff login: {DEMO_USERNAME} / {password}")
        else:
            self.stdout.write(f"Demo staff login: {DEMO_USERNAME} (already existed; password unchanged)")
        self.stdout.write(f"Demo 8-digit backup code (single use; a new one at each seed_demo): {backup_code}")

    def _apps_above(self, *, author: Any) -> list[str]:
        """Demo content of apps campaigns must not import (actions): each AppConfig with a ``seed_demo`` method."""
        lines = []
        for config in django_apps.get_app_configs():
            seed = getattr(config, "seed_demo", None)
            if callable(seed):
                lines.append(seed(author=author))
        return lines

    def _lists(self) -> dict[str, MailingList]:
        lists = {}
        for position, data in enumerate(demo.LISTS):
            mailing_list, _ = MailingList.objects.get_or_create(
                slug=data["slug"],
                defaults={
                    "name": data["name"],
                    "description": data["description"],
                    "public": True,
                    "tracking_enabled": data["tracking_enabled"],
                    "position": position,
                    "translations": data["translations"],
                },
            )
            if not mailing_list.translations:
                # Lists seeded before they had translations; staff's own edits are kept.
                mailing_list.translations = data["translations"]
                mailing_list.save(update_fields=["translations"])
            lists[mailing_list.slug] = mailing_list
        return lists

    def _staff(self) -> tuple[Any, str | None]:
        """The demo superuser; its password is (re)set only when it is created."""
        user_model = get_user_model()
        user = user_model.objects.filter(username=DEMO_USERNAME).first()
        if user is not None:
            return user, None
        password = demo_password()
        user = user_model.objects.create_superuser(
            username=DEMO_USERNAME,
            email="demo@tocsin.example.org",
            password=password,
            first_name="Demo",
            last_name="Staff",
        )
        return user, password

    def _articles(self, lists: dict[str, MailingList], *, author: Any) -> int:
        created = 0
        now = timezone.now()
        by_slug: dict[str, Article] = {}
        # Originals first, so translations can point at them.
        ordered = sorted(demo.ARTICLES, key=lambda data: "translation_of" in data)
        for data in ordered:
            article = Article.objects.filter(slug=data["slug"]).first()
            if article is None:
                translation_of = by_slug.get(data.get("translation_of", "")) or (
                    Article.objects.filter(slug=data["translation_of"]).first() if "translation_of" in data else None
                )
                article = Article(
                    slug=data["slug"],
                    title=data["title"],
                    summary=data["summary"],
                    source=data["source"],
                    body_markdown=data["body_markdown"],
                    language=data.get("language", "en"),
                    translation_of=translation_of,
                    status=Article.Status.PUBLISHED,
                    published_at=now - timedelta(days=data["days_ago"]),
                    author=author,
                )
                _save_article(article)
                article.topics.set([lists[slug] for slug in data["topics"]])
                created += 1
            by_slug[article.slug] = article
        return created

    def _subscribers(self, lists: dict[str, MailingList]) -> int:
        created = 0
        now = timezone.now()
        for index, data in enumerate(demo.SUBSCRIBERS):
            if Subscriber.objects.filter(email=data["email"]).exists():
                continue
            signed_up = now - timedelta(days=30 + 7 * index, minutes=5)
            confirmed = signed_up + timedelta(minutes=5)
            subscriber = Subscriber.objects.create(
                email=data["email"],
                name=data["name"],
                language=data["language"],
                status=Subscriber.Status.CONFIRMED,
                created_at=signed_up,
                confirmed_at=confirmed,
            )
            Subscription.objects.bulk_create(
                [Subscription(subscriber=subscriber, mailing_list=lists[slug]) for slug in data["lists"]]
            )
            # The same evidence a real double opt-in leaves: the request, then the confirmation.
            common = {
                "subscriber": subscriber,
                "email": subscriber.email,
                "basis": Consent.Basis.EXPRESS,
                "lists": data["lists"],
                "wording": demo.CONSENT_WORDING,
                "wording_version": demo.CONSENT_WORDING_VERSION,
                "language": data["language"],
                "source": Consent.Source.FORM,
                "page_url": f"{settings.SITE_URL}/signup/",
                "ip_address": "192.0.2.10",
                "user_agent": "seed_demo",
                "detail": "demo data",
                "requested_at": signed_up,
            }
            Consent.objects.create(action=Consent.Action.SIGNUP, created_at=signed_up, **common)
            Consent.objects.create(
                action=Consent.Action.CONFIRM, confirmed_at=confirmed, created_at=confirmed, **common
            )
            created += 1
        return created
