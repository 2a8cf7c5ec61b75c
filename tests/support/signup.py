"""What the sign-up abuse tests share: a valid form, a post that runs its commit hooks, "nothing happened"."""

from __future__ import annotations

from django.core import mail

from subscribers.models import Consent, Subscriber

EMBED = "/signup/embed/submit/"


def valid(**fields):
    return {"email": "ana@example.org", "name": "Ana", "lists": ["peru"], "language": "en", **fields}


def post(client, django_capture_on_commit_callbacks, data, url="/signup/", **extra):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(url, data, **extra)


def nothing_happened():
    return not Subscriber.objects.exists() and not Consent.objects.exists() and mail.outbox == []
