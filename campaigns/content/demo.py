"""The demo content `seed_demo` loads: lists, articles, supporters.

Written for Tocsin's demo, on the themes a small solidarity network covers
(mining, repression, land defenders, Canadian policy). The organisations,
places and people named here are invented; links point at example.org.
"""

from __future__ import annotations

from typing import TypedDict


class DemoList(TypedDict):
    slug: str
    name: str
    description: str
    tracking_enabled: bool
    # {"es": {"name": …, "description": …}, "fr": …}, as MailingList.translations.
    translations: dict[str, dict[str, str]]


class DemoArticle(TypedDict, total=False):
    slug: str
    title: str
    summary: str
    source: str
    body_markdown: str
    topics: list[str]
    days_ago: int
    language: str
    translation_of: str


class DemoSubscriber(TypedDict):
    email: str
    name: str
    language: str
    lists: list[str]


LISTS: list[DemoList] = [
    {
        "slug": "peru",
        "name": "Peru",
        "description": "Mining conflicts, states of emergency and the communities resisting them.",
        "tracking_enabled": True,
        "translations": {
            "es": {
                "name": "Perú",
                "description": "Conflictos mineros, estados de emergencia y las comunidades que los resisten.",
            },
            "fr": {
                "name": "Pérou",
                "description": "Conflits miniers, états d’urgence et les communautés qui leur résistent.",
            },
        },
    },
    {
        "slug": "guatemala",
        "name": "Guatemala",
        "description": "Land defenders, Indigenous consultation rights and the mines that ignore them.",
        # Readers here include people at risk: no open pixel, no rewritten links.
        "tracking_enabled": False,
        "translations": {
            "es": {
                "name": "Guatemala",
                "description": "Defensores de la tierra, el derecho a la consulta indígena y las minas que lo ignoran.",
            },
            "fr": {
                "name": "Guatemala",
                "description": "Défenseurs de la terre, droit des peuples autochtones à la consultation et mines "
                "qui l’ignorent.",
            },
        },
    },
    {
        "slug": "honduras",
        "name": "Honduras",
        "description": "Rivers, dams, and the criminalisation of those who defend them.",
        "tracking_enabled": False,
        "translations": {
            "es": {
                "name": "Honduras",
                "description": "Ríos, represas y la criminalización de quienes los defienden.",
            },
            "fr": {
                "name": "Honduras",
                "description": "Rivières, barrages et criminalisation de celles et ceux qui les défendent.",
            },
        },
    },
    {
        "slug": "canada-policy",
        "name": "Canada policy",
        "description": "What Ottawa, Canadian companies and Canadian investors do abroad, and how to push back.",
        "tracking_enabled": True,
        "translations": {
            "es": {
                "name": "Política canadiense",
                "description": "Lo que Ottawa, las empresas y los inversionistas canadienses hacen en el "
                "extranjero, y cómo hacerles frente.",
            },
            "fr": {
                "name": "Politique canadienne",
                "description": "Ce qu’Ottawa, les entreprises et les investisseurs canadiens font à l’étranger, "
                "et comment s’y opposer.",
            },
        },
    },
    {
        "slug": "urgent-actions",
        "name": "Urgent actions",
        "description": "Short alerts when someone is in danger and a letter or a call can help, today.",
        "tracking_enabled": True,
        "translations": {
            "es": {
                "name": "Acciones urgentes",
                "description": "Alertas breves cuando alguien está en peligro y una carta o una llamada puede "
                "ayudar, hoy.",
            },
            "fr": {
                "name": "Actions urgentes",
                "description": "De courtes alertes quand une personne est en danger et qu’une lettre ou un appel "
                "peut aider, aujourd’hui.",
            },
        },
    },
]


ARTICLES: list[DemoArticle] = [
    {
        "slug": "demo-state-of-emergency-southern-highlands",
        "title": "State of emergency declared in three southern provinces",
        "summary": "Troops deployed along the mining corridor as road blockades enter their third week.",
        "source": "Tocsin Demo Network, field report",
        "topics": ["peru", "urgent-actions"],
        "days_ago": 1,
        "body_markdown": """\
The government has suspended the rights of assembly and free movement for thirty days in three
southern provinces, after farming communities blocked the road that carries copper concentrate
to the coast.

- **What happened:** soldiers now patrol the corridor alongside the police. Community radio
  stations report that two of their reporters were detained overnight and released without charge.
- **Why it matters:** the last emergency decree in the region was followed by weeks of raids on
  the homes of community leaders.
- **What the communities ask:** a public dialogue table with the water authority present, and an
  independent review of the mine's expansion permit.

Read the communities' statement (in Spanish): <https://example.org/demo/statement-southern-provinces>

*Source: Tocsin Demo Network field contacts, by phone.*
""",
    },
    {
        "slug": "demo-consultation-ignored-western-highlands",
        "title": "Municipal consultation says no to the mine; the ministry says yes",
        "summary": "Nine in ten voters rejected the project. The permit was renewed a week later.",
        "source": "Tocsin Demo Network, with community radio partners",
        "topics": ["guatemala"],
        "days_ago": 4,
        "body_markdown": """\
Residents of a highland municipality voted in a good-faith community consultation, organised
under their own customs, and rejected a proposed gold and silver mine by a wide margin.

Seven days later the energy and mines ministry renewed the company's exploration licence,
calling the vote "not binding".

Lawyers for the Indigenous authorities have filed for constitutional protection, citing the
state's duty to consult before, not after, a licence is granted.

- Background: [Ten years of consultations nobody counted](https://example.org/demo/consultations)
- Documentary (28 min): [The valley votes](https://example.org/demo/the-valley-votes)
""",
    },
    {
        "slug": "demo-river-defender-charges-dropped",
        "title": "Charges against river defender dropped after eighteen months",
        "summary": "A court threw out the case of 'usurpation' brought by a hydroelectric company.",
        "source": "Tocsin Demo Network",
        "topics": ["honduras"],
        "days_ago": 9,
        "body_markdown": """\
A trial court has dismissed the charges of "usurpation" and "damages" brought against a
community water-board leader who opposed a dam on her river. The company's own land titles
were found to overlap a community forest reserve.

She spent four months in pre-trial detention and more than a year reporting to a court every
week. Her lawyers say at least a dozen other members of the water board still face similar
charges.

**Thank you** to everyone who wrote to the prosecutor's office last spring: the defence filed
your letters with the court.

Full statement from the water board: <https://example.org/demo/water-board-statement>
""",
    },
    {
        "slug": "demo-trade-mission-mining-convention",
        "title": "Trade mission to promote mining deals, weeks after the killings",
        "summary": "Federal officials will host a delegation at a major mining convention in Toronto.",
        "source": "Tocsin Demo Network, policy desk",
        "topics": ["canada-policy", "peru"],
        "days_ago": 12,
        "body_markdown": """\
Global Affairs officials have confirmed they will host a government delegation at the mining
investment convention in Toronto next month, to "showcase opportunities" for Canadian
exploration companies.

The announcement came while human rights groups were still counting the dead from the
repression of protests earlier this year.

**What you can do:** write to your Member of Parliament and ask three questions:

1. Will the government condition diplomatic and trade support on accountability for the
   killings of protesters?
2. Will the Canadian embassy publish its meetings with mining companies operating in
   conflict zones?
3. When will the ombudsperson for responsible enterprise get the power to compel documents?

Sample letter and MP lookup: <https://example.org/demo/write-your-mp>
""",
    },
    {
        "slug": "demo-urgent-action-community-leader-threatened",
        "title": "Urgent action: community leader threatened after radio interview",
        "summary": "Armed men visited her home at night. Ask the authorities to protect her now.",
        "source": "Tocsin Demo Network, urgent action desk",
        "topics": ["urgent-actions", "guatemala"],
        "days_ago": 2,
        "body_markdown": """\
Two days after she spoke on community radio about contaminated wells near a nickel processing
plant, armed men came to the home of an Indigenous community leader and told her family she
"would not speak again".

**Please act today:** call or email the public prosecutor's human rights unit and ask that
protective measures be granted at once, and that the threats be investigated.

- Contacts and a short script: <https://example.org/demo/urgent-action-contacts>
- Please be polite. Do not share her name or village on social media: she asked us not to.
""",
    },
    {
        "slug": "demo-estado-de-emergencia-provincias-del-sur",
        "title": "Declaran estado de emergencia en tres provincias del sur",
        "summary": "Tropas desplegadas en el corredor minero mientras los bloqueos entran en su tercera semana.",
        "source": "Red Demo Tocsin, informe de campo",
        "topics": ["peru", "urgent-actions"],
        "days_ago": 1,
        "language": "es",
        "translation_of": "demo-state-of-emergency-southern-highlands",
        "body_markdown": """\
El gobierno suspendió por treinta días los derechos de reunión y de libre tránsito en tres
provincias del sur, después de que comunidades campesinas bloquearan la carretera por donde
sale el concentrado de cobre hacia la costa.

- **Qué pasó:** soldados patrullan ahora el corredor junto a la policía. Radios comunitarias
  informan que dos de sus reporteros fueron detenidos durante la noche y liberados sin cargos.
- **Por qué importa:** el último decreto de emergencia en la región fue seguido por semanas de
  allanamientos a las casas de dirigentes comunales.
- **Qué piden las comunidades:** una mesa de diálogo pública con la autoridad del agua presente
  y una revisión independiente del permiso de ampliación de la mina.

Lea el pronunciamiento de las comunidades: <https://example.org/demo/statement-southern-provinces>

*Fuente: contactos de campo de la Red Demo Tocsin, por teléfono.*
""",
    },
    {
        "slug": "demo-consulta-ignorada-altiplano-occidental",
        "title": "La consulta municipal dice no a la mina; el ministerio dice sí",
        "summary": "Nueve de cada diez votantes rechazaron el proyecto. El permiso se renovó una semana después.",
        "source": "Red Demo Tocsin, con radios comunitarias",
        "topics": ["guatemala"],
        "days_ago": 4,
        "language": "es",
        "translation_of": "demo-consultation-ignored-western-highlands",
        "body_markdown": """\
Los vecinos de un municipio del altiplano votaron en una consulta comunitaria de buena fe,
organizada según sus propias costumbres, y rechazaron por amplia mayoría una mina de oro y plata.

Siete días después, el ministerio de energía y minas renovó la licencia de exploración de la
empresa y calificó la votación de "no vinculante".

Los abogados de las autoridades indígenas presentaron un amparo, invocando el deber del Estado
de consultar antes, y no después, de otorgar una licencia.

- Contexto: [Diez años de consultas que nadie contó](https://example.org/demo/consultations)
""",
    },
]


SUBSCRIBERS: list[DemoSubscriber] = [
    {"email": "ana.quispe@example.org", "name": "Ana", "language": "es", "lists": ["peru", "urgent-actions"]},
    {"email": "marc.tremblay@example.org", "name": "Marc", "language": "fr", "lists": ["canada-policy"]},
    {"email": "jo.wilson@example.org", "name": "Jo", "language": "en", "lists": ["peru", "canada-policy"]},
    {
        "email": "lucia.xol@example.org",
        "name": "Lucía",
        "language": "es",
        "lists": ["guatemala", "honduras", "urgent-actions"],
    },
    {"email": "sam.okafor@example.org", "name": "", "language": "en", "lists": ["honduras", "urgent-actions"]},
    {"email": "priya.nair@example.org", "name": "Priya", "language": "en", "lists": ["canada-policy", "guatemala"]},
]

# What the demo supporters are recorded as having been shown when they signed up.
CONSENT_WORDING = (
    "Yes, send me news and action alerts from the Tocsin Demo Network on the topics I ticked. "
    "I can leave at any time with the link in every email."
)
CONSENT_WORDING_VERSION = "demo-1"
