"""The admin reads as the organisation's Tocsin, not as Django, in the staff member's language."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice

from campaigns.models import Article, Campaign, CampaignArticle
from tests.support.factories import make_list, make_subscriber

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogs")]


@pytest.fixture(autouse=True)
def _organisation(settings):  # type: ignore[no-untyped-def]
    settings.TOCSIN_ORG_NAME = "Red de Alerta Andina"


def staff_client(language: str = "en") -> Client:
    user = User.objects.create_superuser("boss", "boss@example.org", "a-long-password-1")
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = StaticDevice.objects.create(user=user, name="backup").persistent_id
    session.save()
    return client


def section(page: str, name: str) -> str:
    """The HTML of the admin index's module whose caption is ``name``."""
    match = re.search(
        rf'<div class="app-[\w-]+ module[^"]*">\s*<table>\s*<caption>\s*<a[^>]*>{name}</a>.*?</table>', page, re.S
    )
    assert match, f"no section {name!r}"
    return match.group(0)


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_the_admin_is_headed_and_titled_with_the_organisations_name(language):
    page = staff_client(language).get(reverse("admin:index")).content.decode()

    assert re.search(r'<div id="site-name"><a href="/admin/">.*Red de Alerta Andina</a>', page)
    assert re.search(r"<title>[^<]*Red de Alerta Andina · Tocsin</title>", page)
    assert "Django" not in page


def test_the_login_page_names_the_organisation_too(client):
    page = client.get(reverse("admin:login")).content.decode()

    assert "Red de Alerta Andina" in page
    assert "Django administration" not in page


@pytest.mark.parametrize(
    ("language", "title", "models"),
    [
        (
            "en",
            "Staff and security",
            ["API tokens", "Authenticator apps", "Backup codes", "Failed sign-ins", "Staff accounts", "Roles"],
        ),
        (
            "es",
            "Equipo y seguridad",
            ["Tokens de la API", "Aplicaciones de autenticación", "Códigos de respaldo", "Cuentas del equipo"],
        ),
        (
            "fr",
            "Équipe et sécurité",
            ["Jetons d’API", "Applications d’authentification", "Codes de secours", "Comptes de l’équipe"],
        ),
    ],
)
def test_the_security_models_are_one_clearly_named_section(language, title, models):
    page = staff_client(language).get(reverse("admin:index")).content.decode()

    security = section(page, title)
    for name in models:
        assert name in security
    for django_name in [
        "AXES",
        "Axes",
        "OTP_STATIC",
        "Otp_Static",
        "OTP_TOTP",
        "Otp_Totp",
        "Authentication and Authorization",
    ]:
        assert django_name not in page


def test_the_campaigns_section_keeps_only_the_campaign_models():
    page = staff_client().get(reverse("admin:index")).content.decode()

    campaigns = section(page, "Campaigns")
    assert "Articles" in campaigns
    assert "api tokens" not in campaigns.lower()


def test_the_security_section_has_a_page_and_the_old_app_pages_lead_there():
    client = staff_client()

    page = client.get("/admin/security/")
    assert page.status_code == 200
    assert "Failed sign-in log" in page.content.decode()
    for label in ["otp_totp", "otp_static", "axes", "auth"]:
        response = client.get(f"/admin/{label}/")
        assert (response.status_code, response["Location"]) == (302, "/admin/security/")
    # A model page's breadcrumb names the section, not the package.
    device_list = client.get(reverse("admin:otp_totp_totpdevice_changelist")).content.decode()
    assert '<a href="/admin/otp_totp/">Staff and security</a>' in device_list


def test_every_page_has_a_favicon(client):
    admin_page = staff_client().get(reverse("admin:index")).content.decode()
    public_page = client.get(reverse("subscribers:signup")).content.decode()

    for page in (admin_page, public_page):
        assert re.search(r'<link rel="icon" href="/static/tocsin/favicon\.svg" type="image/svg\+xml">', page)
    icon = client.get("/favicon.ico")
    assert (icon.status_code, icon["Location"]) == (301, "/static/tocsin/favicon.svg")


def test_the_articles_of_a_bulletin_are_labelled_with_their_titles():
    campaign = Campaign.objects.create(subject="This week")
    article = Article.objects.create(title="State of emergency declared in three southern provinces", slug="emergency")
    CampaignArticle.objects.create(campaign=campaign, article=article, position=1)

    page = staff_client().get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()

    assert re.search(r'<td class="original">\s*<p>\s*State of emergency declared in three southern provinces', page)
    assert not re.search(r"\d+#\d+: \d+", page)


def test_a_persons_lists_are_labelled_with_their_names():
    ana = make_subscriber("ana@example.org", lists=[make_list("peru", name="Peru")])

    page = staff_client().get(reverse("admin:subscribers_subscriber_change", args=[ana.pk])).content.decode()

    assert re.search(r'<td class="original">\s*<p>\s*Peru \(Subscribed\)', page)
    assert not re.search(r"\d+ on \d+ \(active\)", page)


def test_the_consent_history_shows_every_piece_of_evidence_in_a_few_columns():
    ana = make_subscriber("ana@example.org", lists=[make_list("peru")])

    page = staff_client().get(reverse("admin:subscribers_subscriber_change", args=[ana.pk])).content.decode()

    history = page[page.index('id="consents-group"') :]
    history = history[: history.index("</table>")]
    headers = re.findall(r'<th class="column-[\w_]+[^"]*"[^>]*>(.*?)</th>', history, re.S)
    assert len(headers) <= 8
    # Each piece of evidence is still there, under "All evidence".
    for label, value in [
        ("Wording shown", "Yes, send me the bulletin."),
        ("Page", "https://example.org/signup/"),
        ("Browser (user agent)", "Firefox"),
        ("IP address", "203.0.113.7"),
        ("Wording version", "v1"),
    ]:
        assert re.search(rf"<dt>{re.escape(label)}</dt><dd>{re.escape(value)}</dd>", history)
