"""Spanish and French: every string translated, and supporters see their language.

The .mo files are git-ignored and built by `make messages`; the fixture
``compiled_catalogs`` (tests/conftest.py) builds them when a test run starts
without them, so these tests pass in a fresh clone too.
"""

from __future__ import annotations

import re

import polib
import pytest
from django.core import mail
from django.urls import reverse

from scripts import french_spacing
from subscribers.models import MailingList, Subscriber
from subscribers.services import send_confirmation, subscribe
from subscribers.tokens import make_unsubscribe_token
from tests.support.translations import LOCALE

LANGUAGES = ["es", "fr"]

# printf placeholders (%(name)s, %d, %%), Django template variables, str.format
# fields and HTML tags: a translation must carry the same ones as its source.
PLACEHOLDER = re.compile(
    r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]"
    r"|%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]"
    r"|\{\{[^}]*\}\}"
    r"|\{[A-Za-z_][A-Za-z0-9_]*\}"
    r"|</?[a-zA-Z][^>]*>"
)

pytestmark = pytest.mark.usefixtures("compiled_catalogs")


def po_file(language: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated_and_none_is_fuzzy(language):
    po = po_file(language)
    live = [entry for entry in po if not entry.obsolete]

    assert len(live) > 100, "makemessages collected far too few strings"
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert po.percent_translated() == 100


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders_and_tags_of_their_source(language):
    mismatches = []
    for entry in po_file(language):
        if entry.obsolete:
            continue
        if entry.msgid_plural:
            pairs = [
                (entry.msgid if index == 0 else entry.msgid_plural, text)
                for index, text in sorted(entry.msgstr_plural.items())
            ]
        else:
            pairs = [(entry.msgid, entry.msgstr)]
        for source, translated in pairs:
            if placeholders(source) != placeholders(translated):
                mismatches.append((source, translated))

    assert mismatches == []


@pytest.fixture
def topic(db) -> MailingList:
    return MailingList.objects.create(slug="peru", name="Perú", public=True)


def test_the_signup_page_is_in_spanish_for_a_spanish_browser(client, topic):
    response = client.get(reverse("subscribers:signup"), HTTP_ACCEPT_LANGUAGE="es-PE,es;q=0.9,en;q=0.5")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Recibe nuestros boletines y alertas urgentes" in page
    assert "Correo electrónico" in page
    assert "Sí, quiero recibir correos de" in page  # the consent sentence a person agrees to
    assert "Get our bulletins and urgent alerts" not in page


def test_the_language_switcher_turns_the_site_french(client, topic):
    response = client.post(reverse("set_language"), {"language": "fr", "next": reverse("subscribers:signup")})
    assert response.status_code == 302

    page = client.get(reverse("subscribers:signup")).content.decode()
    assert "Recevez nos bulletins et nos alertes urgentes" in page
    assert "Adresse électronique" in page


def test_a_french_subscriber_gets_the_confirmation_email_in_french(topic, django_capture_on_commit_callbacks):
    # The queued task's own job is done by hand below, with the same call.
    with django_capture_on_commit_callbacks(execute=False):
        result = subscribe(email="claire@example.org", name="Claire", language="fr", lists=[topic], source="form")
    mail.outbox.clear()

    assert send_confirmation(subscriber_id=result.subscriber.pk, consent_id=result.consent.pk) is True

    [message] = mail.outbox
    assert message.subject.startswith("Confirmez votre inscription à")
    assert "Bonjour Claire," in message.body
    assert "Pour confirmer, ouvrez ce lien" in message.body
    html = message.alternatives[0][0]
    assert "Confirmer mon inscription" in html
    assert "Confirm your sign-up" not in message.body + html


def test_a_spanish_subscriber_sees_the_unsubscribe_page_in_spanish(client, topic):
    subscriber = Subscriber.objects.create(
        email="ana@example.org", name="Ana", language="es", status=Subscriber.Status.CONFIRMED
    )
    url = reverse("subscribers:unsubscribe", args=[make_unsubscribe_token(subscriber)])

    # An English browser: the page still follows the language the person chose.
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Darme de baja" in page
    assert "centro de preferencias" in page
    assert "Unsubscribe me" not in page


# --- French typography --------------------------------------------------------------------

NBSP = "\u00a0"
RSQUO = "\u2019"  # the French apostrophe
# What is not prose: placeholders and tags (above), URLs, a Markdown image's "![".
NOT_PROSE = re.compile(PLACEHOLDER.pattern + r"|[a-z][a-z0-9+.-]*://\S+|!\[")


def french_prose(entry: polib.POEntry, text: str) -> str:
    # Code quoted from the English source ("Content-Type: application/json")
    # keeps its own colon.
    for fragment in re.findall(r"[\w-]+: \S+", entry.msgid + " " + entry.msgid_plural):
        text = text.replace(fragment, "·")
    return NOT_PROSE.sub("·", text)


def french_prose_strings() -> list[str]:
    """Every French translation, singular and plural, with what is not prose masked."""
    return [
        french_prose(entry, text)
        for entry in po_file("fr")
        if not entry.obsolete
        for text in [entry.msgstr, *entry.msgstr_plural.values()]
    ]


def test_french_has_a_non_breaking_space_before_double_marks_and_inside_guillemets():
    wrong = []
    for prose in french_prose_strings():
        before_mark = re.findall(r".{0,20}(?<![\u00a0\u202f?!])[?!:;](?=\s|$|[)»])", prose)
        guillemets = re.findall(r".{0,20}(?:«(?!\u00a0)|(?<!\u00a0)»).{0,20}", prose)
        doubled = re.findall(r".{0,20}(?:[\u00a0\u202f][ \u00a0\u202f]|[ ][\u00a0\u202f]).{0,20}", prose)
        wrong.extend(before_mark + guillemets + doubled)

    assert wrong == [], "run `make translations`: scripts/french_spacing.py fixes these"


def test_french_writes_its_apostrophes_as_typographic_ones():
    # "l'action" set with a typewriter quote looks like code in French; the apostrophe is U+2019.
    wrong = [found for prose in french_prose_strings() for found in re.findall(r".{0,20}\w'\w.{0,20}", prose)]

    assert wrong == [], "run `make translations`: scripts/french_spacing.py fixes these"


def test_the_french_signup_page_keeps_the_colon_with_its_word(client, topic):
    page = client.get(reverse("subscribers:signup"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    # The consent sentence a person agrees to: no line may start with its colon.
    assert f"ci-dessus{NBSP}: bulletins" in page
    assert "ci-dessus : bulletins" not in page


@pytest.mark.parametrize(
    ("typed", "fixed"),
    [
        ("Vraiment ? Oui !", f"Vraiment{NBSP}? Oui{NBSP}!"),
        ("Colonnes: %(columns)s; rien", f"Colonnes{NBSP}: %(columns)s{NBSP}; rien"),
        ("%(version)s : vide", f"%(version)s{NBSP}: vide"),
        ("Envoyer « %(subject)s »", f"Envoyer «{NBSP}%(subject)s{NBSP}»"),
        ("Envoyer «%(subject)s»", f"Envoyer «{NBSP}%(subject)s{NBSP}»"),
        ("Quoi ?!", f"Quoi{NBSP}?!"),
        (f"File « {NBSP}{NBSP}%(name)s{NBSP} »", f"File «{NBSP}%(name)s{NBSP}»"),
        # Not prose: a URL, a template variable, a Markdown image, an HTML attribute.
        ("Voir https://example.org/a:b", "Voir https://example.org/a:b"),
        ('{{ name|default:"ami" }}', '{{ name|default:"ami" }}'),
        ("[lien](https://…), ![image](x.jpg)", "[lien](https://…), ![image](x.jpg)"),
        ('<a style="color:red">ici</a> !', f'<a style="color:red">ici</a>{NBSP}!'),
        # An apostrophe between letters is the typographic one; quotes around code are not apostrophes.
        ("L'échantillon d'abord", f"L{RSQUO}échantillon d{RSQUO}abord"),
        ("Aujourd'hui ? Qu'importe !", f"Aujourd{RSQUO}hui{NBSP}? Qu{RSQUO}importe{NBSP}!"),
        ("<a href='%(url)s' title='l'a'>l'action</a>", f"<a href='%(url)s' title='l'a'>l{RSQUO}action</a>"),
        ("{{ name|default:'l'ami' }} %(n)s'", "{{ name|default:'l'ami' }} %(n)s'"),
        # An HTML entity's semicolon is no French semicolon: "&lt ;" shows as "< ;" in an email.
        ("de %(name)s &lt;%(email)s&gt;.", "de %(name)s &lt;%(email)s&gt;."),
        ("Ana &amp; Ben ; &#8239;x", f"Ana &amp; Ben{NBSP}; &#8239;x"),
    ],
)
def test_the_french_spacing_script_fixes_what_translators_type(typed, fixed):
    assert french_spacing.fix(typed) == fixed
    # `make translations` runs it every time: a second run changes nothing.
    assert french_spacing.fix(fixed) == fixed


def test_the_french_spacing_script_leaves_code_copied_from_the_source_alone():
    source = "Send 'Authorization: Bearer <token>'."

    assert french_spacing.fix("Envoyez 'Authorization: Bearer <token>'.", source=source) == (
        "Envoyez 'Authorization: Bearer <token>'."
    )


def test_the_french_spacing_script_reports_a_straight_apostrophe():
    assert french_spacing.problems("Page de l'action") != []
    assert french_spacing.problems(f"Page de l{RSQUO}action") == []
    assert french_spacing.problems("Envoyez 'Bearer %(token)s'.") == []


def test_only_the_link_in_the_confirmation_email_may_break_anywhere(topic, django_capture_on_commit_callbacks):
    # "break-all" on the whole paragraph cut French words in two on a phone ("v / otre navigateur").
    with django_capture_on_commit_callbacks(execute=False):
        result = subscribe(email="claire@example.org", name="Claire", language="fr", lists=[topic], source="form")
    mail.outbox.clear()
    send_confirmation(subscriber_id=result.subscriber.pk, consent_id=result.consent.pk)

    html = mail.outbox[0].alternatives[0][0]
    breakable = re.findall(r'<[a-z]+ style="[^"]*word-break:\s*break-all[^"]*">(.*?)</[a-z]+>', html, re.S)
    assert len(breakable) == 1
    assert re.fullmatch(r"\s*https?://\S+/confirm/\S+/\s*", breakable[0])
    assert "copiez ce lien dans votre navigateur" in html
