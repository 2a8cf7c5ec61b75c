"""Staff working in Spanish or French read the admin in their language: every model label is translated.

A label Django makes up from a field's name ("created at") or a model's
class name ("mailing list") never reaches gettext, so the admin showed it in
English whatever the staff member's language.
"""

from __future__ import annotations

from collections.abc import Iterator

import polib
import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice

from tests.support.translations import LOCALE

APPS = ["outbox", "subscribers", "campaigns", "donations"]

pytestmark = pytest.mark.usefixtures("compiled_catalogs")


def labels() -> Iterator[tuple[str, object]]:
    """(where, label) of every model name, field label, help text and choice in Tocsin's apps."""
    for app_label in APPS:
        for model in apps.get_app_config(app_label).get_models():
            opts = model._meta
            name = f"{app_label}.{model.__name__}"
            yield f"{name} verbose_name", opts.verbose_name
            yield f"{name} verbose_name_plural", opts.verbose_name_plural
            for field in opts.get_fields():
                if not isinstance(field, models.Field) or field.auto_created:
                    continue  # the other side of a relation, or the id Django adds
                yield f"{name}.{field.name} verbose_name", field.verbose_name
                if field.help_text:
                    yield f"{name}.{field.name} help_text", field.help_text
                for _value, choice in field.flatchoices:
                    yield f"{name}.{field.name} choice", choice


def catalogue(language: str) -> dict[str, str]:
    po = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    # Labels are plain gettext: an entry with a context ("Sent", an email count) is another string.
    return {
        entry.msgid: entry.msgstr
        for entry in po
        if not entry.obsolete and not entry.msgctxt and "fuzzy" not in entry.flags
    }


def test_every_model_label_goes_through_gettext():
    plain = [where for where, label in labels() if not isinstance(label, Promise)]

    assert plain == []


@pytest.mark.parametrize("language", ["es", "fr"])
def test_every_model_label_has_a_translation(language):
    translated = catalogue(language)
    untranslated = []
    for where, label in labels():
        with translation.override("en"):
            msgid = str(label)
        with translation.override(language):
            shown = str(label)
        if not translated.get(msgid) or shown != translated[msgid]:
            untranslated.append((where, msgid, shown))

    assert untranslated == []


@pytest.fixture
def french_staff(db) -> Client:
    user = User.objects.create_superuser("claire", "claire@example.org", "a-long-password-1")
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = StaticDevice.objects.create(user=user, name="backup").persistent_id
    session.save()
    return client


def test_the_subscriber_page_reads_in_french(french_staff):
    from tests.support.factories import make_list, make_subscriber

    person = make_subscriber("ana@example.org", lists=[make_list("peru")], name="Ana")

    page = french_staff.get(reverse("admin:subscribers_subscriber_change", args=[person.pk])).content.decode()

    for french in ["Adresse électronique", "Créé le", "Compter les ouvertures et les clics", "Historique"]:
        assert french in page
    for english in ["Created at", "Tracking allowed", "Last confirmation sent at", "Mailing list", "Ip address"]:
        assert english not in page


def test_the_admin_index_names_every_section_and_model_in_spanish(db):
    user = User.objects.create_superuser("ana", "ana@example.org", "a-long-password-1")
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = StaticDevice.objects.create(user=user, name="backup").persistent_id
    session.save()

    page = client.get(reverse("admin:index")).content.decode()

    for spanish in ["Listas de correo", "Suscriptores", "Campañas", "Artículos", "Donaciones", "Tokens de la API"]:
        assert spanish in page
    for english in ["Mailing lists", "Subscribers", "Api tokens", "Audit logs", "Static devices", "TOTP devices"]:
        assert english not in page
