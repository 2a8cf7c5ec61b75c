"""Thin Celery tasks for the supporters' side: ids in, a service call, retries."""

from __future__ import annotations

from datetime import datetime
from smtplib import SMTPException
from typing import TypedDict

from celery import shared_task
from django.db import InterfaceError, OperationalError

from subscribers import services


class _RetryOptions(TypedDict):
    autoretry_for: tuple[type[BaseException], ...]
    retry_backoff: int
    retry_backoff_max: int
    max_retries: int


# A transactional email that failed on a network hiccup is worth retrying a
# few times; anything else (a template bug) should fail loudly at once.
_RETRY: _RetryOptions = {
    "autoretry_for": (SMTPException, ConnectionError, TimeoutError),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "max_retries": 5,
}


@shared_task
def purge_unconfirmed() -> int:
    return services.purge_unconfirmed()


@shared_task(**_RETRY)
def send_confirmation_email(subscriber_id: int, consent_id: int) -> bool:
    return services.send_confirmation(subscriber_id=subscriber_id, consent_id=consent_id)


@shared_task(**_RETRY)
def send_welcome_email(subscriber_id: int) -> bool:
    return services.send_welcome(subscriber_id=subscriber_id)


# Kept in the broker because the database was down when the person clicked:
# retried until the database answers again, however long that takes.
@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=None,
)
def apply_kept_unsubscribe(
    subscriber_id: int, channel: str, ip: str | None, user_agent: str, requested_at: str
) -> bool:
    return services.apply_kept_unsubscribe(
        subscriber_id=subscriber_id,
        channel=channel,
        ip=ip,
        user_agent=user_agent,
        requested_at=datetime.fromisoformat(requested_at),
    )
