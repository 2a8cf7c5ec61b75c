"""The admin's page titles for Tocsin's models read as a person would write them, in each language.

Django builds "Change %s" / "Add %s" from the model's name: in French that gave
"Modification de abonné" and "Ajout de abonné". Each of our ModelAdmins names
its pages itself (``titles``), shown in the <title>, the heading and the breadcrumbs.
"""

from __future__ import annotations

import pytest
from django.contrib import admin

from tests.support.personas import admin as admin_persona
from tests.support.personas import supporter, verified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogs")]

OUR_APPS = ("outbox", "subscribers", "campaigns", "donations", "actions", "journeys", "integrations")
# Subscribers are never added by hand (consent comes from sign-up, the API or an import): the add page is a list's.
TITLES = {
    "fr": {"add": "Ajouter une liste de diffusion", "change": "Modifier l’abonné"},
    "es": {"add": "Añadir una lista de correo", "change": "Editar el suscriptor"},
    "en": {"add": "Add a mailing list", "change": "Edit subscriber"},
}


def heading(page: str) -> str:
    return page.split('<div id="content"', 1)[1].split("<h1>", 1)[1].split("</h1>", 1)[0]


def title(page: str) -> str:
    return page.split("<title>", 1)[1].split("</title>", 1)[0]


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_the_subscriber_and_list_pages_are_titled_in_the_staff_members_language(client, language):
    person = supporter()
    verified(client, admin_persona())
    headers = {"accept-language": language}

    change = client.get(f"/admin/subscribers/subscriber/{person.pk}/change/", headers=headers).content.decode()
    add = client.get("/admin/subscribers/mailinglist/add/", headers=headers).content.decode()

    assert heading(change) == TITLES[language]["change"]
    assert title(change).startswith(f"{person.email} | {TITLES[language]['change']} | ")
    assert heading(add) == TITLES[language]["add"]
    assert TITLES[language]["add"] in add.split('class="breadcrumbs"', 1)[1].split("</div>", 1)[0]
    assert "Modification de" not in change and "Ajout de" not in add


def test_every_model_of_ours_names_its_add_change_and_view_pages():
    untitled = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if (model._meta.app_label in OUR_APPS or type(model_admin).__module__.split(".")[0] in OUR_APPS)
        and set(getattr(model_admin, "titles", {})) != {"add", "change", "view"}
    ]

    assert untitled == []
