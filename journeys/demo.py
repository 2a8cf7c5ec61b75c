"""The demo welcome series ``manage.py seed_demo`` loads: three emails over a week for new Peru readers.

Idempotent: made once, by name; nothing staff edited is overwritten.
"""

from __future__ import annotations

from typing import Any

from journeys.models import Journey, Step
from journeys.services.setup import EmailContent, StepSpec, create_journey
from subscribers.models import MailingList

NAME = "Welcome series (demo)"
LIST_SLUG = "peru"

EMAILS = [
    EmailContent(
        subject='Welcome, {{ first_name|default:"friend" }}: what you signed up for',
        body_markdown=(
            "Thank you for joining us.\n\n"
            "Every week or two we send a short bulletin on the mining conflicts in Peru: who is protesting, "
            "what the companies and the state answer, and what you can do from where you are.\n\n"
            "When something urgent happens (a state of emergency, a defender arrested) we send an alert "
            "the same day. You can change your topics or language at any time from the link at the bottom."
        ),
        language="en",
        translations={
            "es": {
                "subject": 'Bienvenida, {{ first_name|default:"amiga" }}: lo que recibirás',
                "body_markdown": (
                    "Gracias por sumarte.\n\n"
                    "Cada una o dos semanas enviamos un boletín breve sobre los conflictos mineros en el Perú: "
                    "quién protesta, qué responden las empresas y el Estado, y qué puedes hacer.\n\n"
                    "Cuando ocurre algo urgente (un estado de emergencia, una defensora detenida) enviamos una "
                    "alerta el mismo día. Puedes cambiar tus temas o tu idioma con el enlace al pie."
                ),
            },
            "fr": {
                "subject": 'Bienvenue, {{ first_name|default:"ami" }} : ce que vous recevrez',
                "body_markdown": (
                    "Merci de nous rejoindre.\n\n"
                    "Toutes les une ou deux semaines, nous envoyons un court bulletin sur les conflits miniers au "
                    "Pérou : qui proteste, ce que répondent les entreprises et l’État, et ce que vous pouvez faire.\n\n"
                    "Quand survient une urgence (un état d’urgence, une défenseure arrêtée), nous envoyons une "
                    "alerte le jour même. Le lien en bas de page permet de changer de sujets ou de langue."
                ),
            },
        },
    ),
    EmailContent(
        subject="Three things our readers did this year",
        body_markdown=(
            "Readers like you wrote to ministers when a community's water permit was waived, shared our "
            "reports with journalists, and turned up when a court case came to Lima.\n\n"
            "Our alerts say exactly what to do and take two minutes. The next one will reach you as soon as "
            "it matters."
        ),
        language="en",
        translations={
            "es": {
                "subject": "Tres cosas que hicieron nuestras lectoras este año",
                "body_markdown": (
                    "Personas como tú escribieron a ministros cuando se eximió un permiso de agua, compartieron "
                    "nuestros informes con periodistas y acompañaron un juicio en Lima.\n\n"
                    "Nuestras alertas dicen exactamente qué hacer y toman dos minutos."
                ),
            },
            "fr": {
                "subject": "Trois choses que nos lecteurs ont faites cette année",
                "body_markdown": (
                    "Des lecteurs comme vous ont écrit aux ministres quand un permis d’eau a été accordé sans "
                    "consultation, partagé nos rapports avec des journalistes et assisté à un procès à Lima.\n\n"
                    "Nos alertes disent exactement quoi faire et prennent deux minutes."
                ),
            },
        },
    ),
    EmailContent(
        subject="How this work is paid for",
        body_markdown=(
            "We take no money from mining companies or governments. Our research, translations and legal "
            "support for communities are paid for by readers.\n\n"
            "If these bulletins matter to you, a monthly gift of any size keeps them going. Thank you for "
            "reading, either way."
        ),
        language="en",
        translations={
            "es": {
                "subject": "Cómo se financia este trabajo",
                "body_markdown": (
                    "No aceptamos dinero de empresas mineras ni de gobiernos. La investigación, las traducciones "
                    "y el apoyo legal a las comunidades los pagan nuestras lectoras y lectores.\n\n"
                    "Si estos boletines te importan, un aporte mensual de cualquier monto los sostiene."
                ),
            },
            "fr": {
                "subject": "Comment ce travail est financé",
                "body_markdown": (
                    "Nous n’acceptons aucun argent des entreprises minières ni des gouvernements. La recherche, "
                    "les traductions et l’appui juridique aux communautés sont payés par nos lecteurs.\n\n"
                    "Si ces bulletins comptent pour vous, un don mensuel de n’importe quel montant les fait vivre."
                ),
            },
        },
    ),
]


def seed(**_options: Any) -> str:
    mailing_list = MailingList.objects.filter(slug=LIST_SLUG).first()
    if mailing_list is None:
        return "Demo journey: skipped (no demo list)."
    if Journey.objects.filter(name=NAME).exists():
        return f"Demo journey: {NAME!r} already there."
    first, second, third = EMAILS
    create_journey(
        name=NAME,
        trigger=Journey.Trigger.JOINED_LIST,
        trigger_list=mailing_list,
        steps=[
            StepSpec(kind=Step.Kind.EMAIL, email=first),
            StepSpec(kind=Step.Kind.WAIT, wait_amount=3, wait_unit=Step.Unit.DAYS),
            StepSpec(kind=Step.Kind.EMAIL, email=second),
            StepSpec(kind=Step.Kind.WAIT, wait_amount=4, wait_unit=Step.Unit.DAYS),
            StepSpec(kind=Step.Kind.EMAIL, email=third),
        ],
    )
    return f"Demo journey: {NAME!r} (three emails over a week for new readers of {mailing_list.name})."
