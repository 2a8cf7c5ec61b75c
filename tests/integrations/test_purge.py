"""Old delivered and failed rows are deleted; waiting ones are kept whatever their age."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management.sql import emit_post_migrate_signal
from django.utils import timezone

from campaigns.staff.roles import ADMIN
from integrations import queueing, recording
from integrations.models import WebhookDelivery

pytestmark = pytest.mark.django_db

S = WebhookDelivery.Status


def test_the_purge_forgets_old_finished_rows_only(endpoint, settings):
    settings.TOCSIN_WEBHOOK_KEEP_DAYS = 30
    rows = [recording.record("webhook.test", {"id": n}, endpoints=[endpoint])[0] for n in range(4)]
    long_ago = timezone.now() - timedelta(days=31)
    for row, status in zip(rows, [S.DELIVERED, S.FAILED, S.PENDING, S.DELIVERED], strict=True):
        WebhookDelivery.objects.filter(pk=row.pk).update(status=status)
    WebhookDelivery.objects.filter(pk__in=[r.pk for r in rows[:3]]).update(created_at=long_ago)

    assert queueing.purge() == 2

    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {rows[2].pk, rows[3].pk}


def test_after_migrate_the_admin_role_may_manage_endpoints():
    # As on a first migrate: this app's permissions are created after campaigns set up the roles.
    Permission.objects.filter(content_type__app_label="integrations").delete()

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

    codenames = set(Group.objects.get(name=ADMIN).permissions.values_list("codename", flat=True))
    assert {"add_endpoint", "change_endpoint", "view_endpoint", "delete_endpoint"} <= codenames
