"""The demo actions in Spanish and French, and the demo alert that links to the letter.

Invented content on the demo themes, like the rest of the demo: loaded by
``actions.demo.seed`` (``manage.py seed_demo``), only what is missing.
"""

from __future__ import annotations

from typing import Any

from actions.models import Action, ActionTranslation
from campaigns.models import Campaign, CampaignTranslation
from subscribers.models import MailingList

LETTER_TRANSLATIONS: dict[str, dict[str, str]] = {
    "es": {
        "title": "Escriba a su diputado: las mineras canadienses deben responder por el daño en el extranjero",
        "body_markdown": (
            "Comunidades de Perú, Guatemala y Honduras viven la misma historia: una minera que cotiza en "
            "Canadá, una concesión otorgada sin consulta y un río que ya no corre limpio.\n\n"
            "**Escriba a su diputado o diputada** y pídale que apoye una ley que obligue a las empresas "
            "canadienses a respetar los derechos humanos en el extranjero."
        ),
        "letter_subject": "Apoye normas vinculantes de derechos humanos para las mineras canadienses",
        "letter_body": (
            "Como residente de su circunscripción, le escribo sobre las empresas mineras canadienses en "
            "América Latina.\n\n"
            "Las comunidades afectadas denuncian agua contaminada, desalojos y el procesamiento de quienes "
            "defienden su territorio. Las directrices voluntarias no han cambiado esta situación.\n\n"
            "Le pido que apoye una ley que obligue a las empresas canadienses a prevenir daños a los derechos "
            "humanos y que dé a una defensoría independiente el poder de investigar.\n\n"
            "Gracias por su atención. Quedo a la espera de su respuesta."
        ),
    },
    "fr": {
        "title": "Écrivez à votre député\u00a0: les minières canadiennes doivent répondre de leurs torts à l’étranger",
        "body_markdown": (
            "Au Pérou, au Guatemala et au Honduras, les communautés vivent la même histoire\u00a0: une minière "
            "inscrite au Canada, une concession accordée sans consultation et une rivière qui n’est plus propre.\n\n"
            "**Écrivez à votre député** et demandez-lui d’appuyer une loi qui oblige les entreprises "
            "canadiennes à respecter les droits humains à l’étranger."
        ),
        "letter_subject": "Appuyez des règles contraignantes pour les minières canadiennes à l’étranger",
        "letter_body": (
            "En tant que résident de votre circonscription, je vous écris au sujet des sociétés minières "
            "canadiennes en Amérique latine.\n\n"
            "Les communautés touchées dénoncent l’eau contaminée, les expulsions et les poursuites contre "
            "celles et ceux qui défendent leur territoire. Les lignes directrices volontaires n’y ont rien changé.\n\n"
            "Je vous demande d’appuyer une loi qui oblige les entreprises canadiennes à prévenir les atteintes "
            "aux droits humains et qui donne à un ombudsman indépendant le pouvoir d’enquêter.\n\n"
            "Merci de votre attention. J’attends votre réponse."
        ),
    },
}

PETITION_TRANSLATIONS: dict[str, dict[str, str]] = {
    "es": {
        "title": "Liberen a los defensores del agua del Valle Alto",
        "body_markdown": (
            "Cinco integrantes de un consejo comunitario indígena del Valle Alto llevan cuatro meses "
            "detenidos tras un bloqueo pacífico contra el desvío de agua de una mina.\n\n"
            "Pedimos a la fiscalía que **retire los cargos y los libere**."
        ),
    },
    "fr": {
        "title": "Libérez les défenseurs de l’eau de la Haute-Vallée",
        "body_markdown": (
            "Cinq membres d’un conseil communautaire autochtone de la Haute-Vallée sont détenus depuis quatre "
            "mois après un blocage pacifique contre le détournement de l’eau par une mine.\n\n"
            "Nous demandons au procureur d’**abandonner les poursuites et de les libérer**."
        ),
    },
}

ALERT_SUBJECT = "Urgent: write to your MP today about mining abuses abroad"
ALERT = {
    "en": (
        ALERT_SUBJECT,
        "A community leader who spoke out against a Canadian-listed mine was detained this week.\n\n"
        "Parliament debates corporate accountability this month. **[Write to your MP today]({url})**: "
        "it takes one click, and your letter goes to your own representative.",
    ),
    "es": (
        "Urgente: escriba hoy a su diputado sobre los abusos mineros",
        "Esta semana fue detenido un líder comunitario que denunció a una minera que cotiza en Canadá.\n\n"
        "**[Escriba hoy a su diputado]({url})**: basta un clic, y su carta llega a su propio representante.",
    ),
    "fr": (
        "Urgent\u00a0: écrivez aujourd’hui à votre député sur les abus miniers",
        "Un dirigeant communautaire qui dénonçait une minière inscrite au Canada a été détenu cette semaine.\n\n"
        "**[Écrivez aujourd’hui à votre député]({url})**\u00a0: un clic suffit, et votre lettre va à votre député.",
    ),
}


def translate(action: Action, translations: dict[str, dict[str, str]]) -> None:
    for language, fields in translations.items():
        ActionTranslation.objects.get_or_create(action=action, language=language, defaults=fields)


def alert_linking_to(action: Action, *, author: Any = None) -> bool:
    """A draft alert to the urgent-actions list whose link becomes each reader’s personal link. True if new."""
    if Campaign.objects.filter(subject=ALERT_SUBJECT).exists():
        return False
    url = action.get_absolute_url()
    subject, body = ALERT["en"]
    campaign = Campaign.objects.create(
        kind=Campaign.Kind.ALERT,
        subject=subject,
        body_markdown=body.format(url=url),
        language="en",
        created_by=author if getattr(author, "pk", None) else None,
    )
    campaign.lists.set(MailingList.objects.filter(slug="urgent-actions"))
    for language in ("es", "fr"):
        subject, body = ALERT[language]
        CampaignTranslation.objects.create(
            campaign=campaign, language=language, subject=subject, body_markdown=body.format(url=url)
        )
    return True
