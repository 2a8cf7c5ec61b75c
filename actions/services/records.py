"""What was signed: the counters, and a person's signatures for the GDPR access export and erasure."""

from __future__ import annotations

import contextlib
from typing import Any

import redis
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from actions.models import Action, Letter, Signature
from actions.sending import claims
from actions.signals import signatures_erased
from subscribers.models import Subscriber, normalize_email


def count_cache_key(action: Action) -> str:
    return f"actions:count:{action.pk}"


def insert_once(signature: Signature) -> bool:
    """INSERT the new ``signature`` unless its address signed this action already; False when it had.

    One statement where the ORM takes three: ``INSERT … ON CONFLICT DO
    NOTHING`` on the unique (action, email) instead of a SELECT before it
    and a savepoint around it, and the subscriber with that address found
    by a subquery of the same INSERT (``RETURNING`` brings back its id).
    The public page's rush makes this the site's busiest write.
    """
    signature.email = normalize_email(signature.email)
    quote = connection.ops.quote_name
    columns, values, params = [], [], []
    for model_field in Signature._meta.concrete_fields:
        if model_field.primary_key:
            continue
        columns.append(quote(model_field.column))
        if model_field.attname == "subscriber_id":
            values.append(f"(SELECT id FROM {quote(Subscriber._meta.db_table)} WHERE email = %s)")  # noqa: S608
            params.append(signature.email)
        else:
            values.append("%s")
            params.append(model_field.get_db_prep_save(model_field.pre_save(signature, True), connection))
    # Names from the model; values as parameters.
    sql = (
        f"INSERT INTO {quote(Signature._meta.db_table)} ({', '.join(columns)}) VALUES ({', '.join(values)}) "  # noqa: S608
        "ON CONFLICT (action_id, email) DO NOTHING RETURNING id, subscriber_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    signature.pk, signature.subscriber_id = row
    signature._state.adding = False
    return True


def signature_count(action: Action, *, cached: bool = False) -> int:
    """How many signed; ``cached`` (for public counters) may be up to a minute old."""
    if not cached:
        return action.signatures.count()
    key = count_cache_key(action)
    try:
        value = cache.get(key)
    except redis.RedisError:  # a cache outage must not take the counter down
        value = None
    if value is None:
        value = action.signatures.count()
        with contextlib.suppress(redis.RedisError):  # the count is right, only not cached
            cache.set(key, value, timeout=60)
    return int(value)


def letter_counts(action: Action) -> dict[str, int]:
    """sent, failed, pending (waiting or being sent), unknown, by_hand."""
    L = Letter.Status
    counts = Letter.objects.filter(action=action).aggregate(
        sent=Count("id", filter=Q(status=L.SENT)),
        failed=Count("id", filter=Q(status=L.FAILED)),
        pending=Count("id", filter=Q(status__in=[L.PENDING, L.SENDING])),
        unknown=Count("id", filter=Q(status=L.UNKNOWN)),
        by_hand=Count("id", filter=Q(status=L.BY_HAND)),
    )
    return {key: int(value or 0) for key, value in counts.items()}


# --- GDPR ----------------------------------------------------------------------------------


def _signatures_by(email: str, subscriber_id: int | None) -> QuerySet[Signature]:
    query = Q(email=normalize_email(email))
    if subscriber_id is not None:
        query |= Q(subscriber_id=subscriber_id)
    return Signature.objects.filter(query)


def signatures_of(email: str, *, subscriber_id: int | None = None) -> list[dict[str, Any]]:
    """Every signature by ``email`` (or linked to the subscriber) with its letters, JSON-ready (the access export)."""
    rows = []
    for signature in (
        _signatures_by(email, subscriber_id)
        .select_related("action", "district")
        .prefetch_related("letters__target")
        .order_by("created_at", "pk")
    ):
        rows.append(
            {
                "action": signature.action.slug,
                "action_title": signature.action.title,
                "kind": signature.action.kind,
                "signed_at": signature.created_at.isoformat(),
                "email": signature.email,
                "name": signature.name,
                "postal_code": signature.postal_code,
                "city": signature.city,
                "district": signature.district.code if signature.district else None,
                "message": signature.message,
                "letter_subject": signature.letter_subject,
                "letter_body": signature.letter_body,
                "language": signature.language,
                "source": signature.source,
                "letters": [
                    {
                        "target": letter.target.name,
                        "target_email": letter.target.email,
                        "status": letter.status,
                        "sent_at": letter.sent_at.isoformat() if letter.sent_at else None,
                    }
                    for letter in signature.letters.all()
                ],
            }
        )
    return rows


def erase_signatures(*, email: str, replacement_email: str, subscriber_id: int | None = None) -> int:
    """Drop the person from their signatures and letters; the signatures still count.

    Unsent letters are skipped: their text named the person, and once
    erased there is nothing left to send.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(_signatures_by(email, subscriber_id).select_for_update().values_list("pk", flat=True))
        if not ids:
            return 0
        Letter.objects.filter(signature_id__in=ids, status__in=[Letter.Status.PENDING, Letter.Status.BY_HAND]).update(
            status=Letter.Status.SKIPPED, error="erased (GDPR)"
        )
        Signature.objects.filter(pk__in=ids).update(
            email=replacement_email,
            name="",
            postal_code="",
            city="",
            message="",
            letter_subject="",
            letter_body="",
            consent=None,
            erased_at=now,
        )
        signatures_erased.send(sender=Signature, email=email, subscriber_id=subscriber_id)
    return len(ids)


WAITING = ("waiting_overall_cap", "waiting_action_cap")


def letter_counts_by_target(action: Action) -> list[dict[str, Any]]:
    """Per target (by name): sent, failed, pending (waiting or being sent), unknown and by hand."""
    L = Letter.Status
    rows = (
        Letter.objects.filter(action=action)
        .values("target_id", "target__name", "target__email", "target__do_not_email", "target__bouncing_since")
        .annotate(
            sent=Count("id", filter=Q(status=L.SENT)),
            failed=Count("id", filter=Q(status=L.FAILED)),
            pending=Count("id", filter=Q(status__in=[L.PENDING, L.SENDING])),
            unknown=Count("id", filter=Q(status=L.UNKNOWN)),
            by_hand=Count("id", filter=Q(status=L.BY_HAND)),
            **claims.waiting_for_tomorrow(),
        )
        .order_by("target__name", "target_id")
    )
    return [
        {
            "target_id": row["target_id"],
            "name": row["target__name"],
            "email": row["target__email"],
            "do_not_email": row["target__do_not_email"],
            "bouncing": row["target__bouncing_since"] is not None,
            **{key: int(row[key]) for key in ("sent", "failed", "pending", "unknown", "by_hand", *WAITING)},
            "overall_limit": claims.overall_cap(),
        }
        for row in rows
    ]
