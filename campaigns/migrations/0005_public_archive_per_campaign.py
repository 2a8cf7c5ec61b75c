"""Show in the public archive, per campaign.

Until now every sent bulletin and alert was listed in the public archive at
once. Alerts and appeals already sent are taken OUT of it here (explicitly
False, not "as the kind decides"): an alert may name a detained defender or
a witness, and a page that stays up can be found by the people they are
hiding from, while an alert missing from the archive costs nothing that
staff cannot undo with one button per campaign. Bulletins keep their place
(empty: as the kind decides, which shows them).
"""

from django.db import migrations, models


def hide_alerts_and_appeals(apps, schema_editor):  # type: ignore[no-untyped-def]
    Campaign = apps.get_model("campaigns", "Campaign")
    Campaign.objects.filter(kind__in=["alert", "appeal"]).update(public_archive=False)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0004_ledger_without_database_foreign_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="public_archive",
            field=models.BooleanField(
                blank=True,
                default=None,
                help_text="Empty: bulletins are shown once sent; alerts and appeals are not.",
                null=True,
                verbose_name="show in the public archive",
            ),
        ),
        migrations.RunPython(hide_alerts_and_appeals, migrations.RunPython.noop),
    ]
