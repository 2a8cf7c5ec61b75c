"""What the API reads and answers for lists, subscribers and campaigns; the OpenAPI document is built from these.

Every input refuses fields it does not name (``extra="forbid"``): a
misspelt or unsupported option ("subjet", a newer client's field) is a 400
rather than silently ignored. An optional field sent as null counts as left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, create_model, model_validator

from campaigns.api.fields import (
    LANGUAGES,
    Described,
    Flag,
    Language,
    Moment,
    OneOf,
    Slug,
    Slugs,
    Text,
    Timestamp,
    WholeNumber,
    problem,
)
from campaigns.models import ABTest, Campaign

MAX_MARKDOWN = 100_000
Days = Annotated[int, WholeNumber(1, 3650)]


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(Schema):
    detail: str


class ValidationErrorOut(Schema):
    detail: str | None = None
    errors: dict[str, list[str]]


ERRORS: dict[int, Any] = {400: ValidationErrorOut, 401: ErrorOut, 403: ErrorOut}


class MailingListOut(Schema):
    id: int
    slug: str
    name: str
    public: bool


class SubscriberInput(Input):
    email: Annotated[
        str,
        Text(254, required=True, format="email", description="An address on a domain name (an IP address is refused)."),
    ]
    name: (
        Annotated[
            str,
            Text(
                100,
                description="Plain text: no links, web addresses, invisible or text-direction characters "
                "(a name greets the person in emails).",
            ),
        ]
        | None
    ) = None
    language: Language | None = None
    lists: Slugs
    consent_source: Annotated[
        str,
        Text(255, required=True, description="Where and how the person consented, e.g. 'petition form, example.org'."),
    ]
    consent_wording: (
        Annotated[
            str, Text(5000, single_line=False, description="The exact text the person was shown, kept as evidence.")
        ]
        | None
    ) = None
    double_opt_in: Flag | None = Field(default=None, description="true: pending, with a confirmation email.")


class SubscriberOut(Schema):
    id: int
    status: str


class SuppressedOut(Schema):
    detail: str
    id: int | None = None


class TranslationInput(Input):
    subject: Annotated[str, Text(200, required=True)]
    preheader: Annotated[str, Text(200)] | None = None
    body_markdown: Annotated[str, Text(MAX_MARKDOWN, single_line=False)] | None = None


class _Translations(Input):
    @model_validator(mode="before")
    @classmethod
    def _known_languages(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [str(code)[:10] for code in data if code not in LANGUAGES]
            if unknown:
                raise problem("language", _("Unknown language: %(code)s") % {"code": ", ".join(unknown)})
        return data


# One optional field per language offered (settings.LANGUAGES); never the campaign's main one (a 400).
if TYPE_CHECKING:
    TranslationsInput = _Translations
else:
    TranslationsInput = create_model(
        "TranslationsInput", __base__=_Translations, **{code: (TranslationInput | None, None) for code in LANGUAGES}
    )
DONOR_RULES = [value for value, _label in Campaign._meta.get_field("donor_rule").choices or []]
MAX_WAIT_MINUTES = 7 * 24 * 60


def _two_to_four(subjects: list[str]) -> list[str]:
    if not 2 <= len(subjects) <= 4:
        raise problem("subjects", _("Test two to four subjects."))
    return subjects


class ABTestInput(Input):
    subjects: Annotated[
        list[Annotated[str, Text(200, required=True)]],
        AfterValidator(_two_to_four),
        Described(minItems=2, maxItems=4),
    ] = Field(description="Two to four subjects, each sent to an equal random share of the sample.")
    sample_percent: Annotated[int, WholeNumber(1, 99)] = Field(
        20, description="The sample, in percent of the audience; the winner goes to the rest."
    )
    wait_minutes: Annotated[int, WholeNumber(0, MAX_WAIT_MINUTES)] = Field(
        240, description="How long after the end of the sample's send the winner is chosen."
    )
    metric: Annotated[str, OneOf(ABTest.Metric.values, default="clicks")] = Field(
        "clicks",
        description="What picks the winner. Opens are unreliable (Apple Mail Privacy Protection opens every "
        "email), so clicks is the default.",
    )


class CampaignInput(Input):
    kind: Annotated[str, OneOf(Campaign.Kind.values)]
    subject: Annotated[str, Text(200)] | None = Field(
        default=None, description="Required, unless ab_test is given: then the first test subject is the main one."
    )
    preheader: Annotated[str, Text(200)] | None = None
    body_markdown: Annotated[str, Text(MAX_MARKDOWN, single_line=False, required=True)]
    lists: Slugs
    language: Language | None = None
    translations: TranslationsInput | None = None
    languages: list[Language] | None = Field(default=None, max_length=len(LANGUAGES))
    engaged_within_days: Days | None = Field(
        default=None, description="Only people who opened or clicked a campaign in the last N days."
    )
    signed_up_after: Moment | None = None
    signed_up_before: Moment | None = None
    exclude_donors_days: Days | None = Field(default=None, description="Appeals only (a 400 for other kinds).")
    donor_rule: Annotated[str, OneOf(DONOR_RULES, default="all")] = Field(
        "all",
        description="Appeals only. all: everyone (minus gifts in the last exclude_donors_days, if set); "
        "exclude_recent: leave out gifts in the last N days (default 90); lapsed: only people who gave before "
        "but not in the last N days (default 365); never: only people who never gave. N is exclude_donors_days. "
        "Monthly donors are always left out of appeals.",
    )
    exclude_acted: list[Slug] | None = Field(
        default=None, max_length=50, description="Leave out everyone who signed these actions (their slugs)."
    )
    only_acted: list[Slug] | None = Field(
        default=None, max_length=50, description="Address only the people who signed these actions (their slugs)."
    )
    call_to_action_text: Annotated[str, Text(100)] | None = None
    call_to_action_url: (
        Annotated[str, Text(200, format="uri", description="An http or https URL (the donate page, for appeals).")]
        | None
    ) = None
    tracking_enabled: Flag | None = None
    public_archive: Flag | None = Field(
        default=None,
        description="Show in the public archive once sent. Left out: bulletins yes, alerts and appeals no "
        "(they may name people at risk).",
    )
    ab_test: ABTestInput | None = Field(
        default=None,
        description="Test subjects on a sample first; after wait_minutes the winner by metric goes to everyone "
        "else, in the same campaign (nobody gets two).",
    )


class CampaignCreated(Schema):
    id: int
    status: str


class SendInput(Input):
    at: Moment | None = Field(
        default=None, description="Schedule for this time instead of sending now; a time in the past is a 400."
    )


class AudienceOut(Schema):
    lists: list[str]
    languages: list[str]
    engaged_within_days: int | None
    signed_up_after: Timestamp | None
    signed_up_before: Timestamp | None


class CountsOut(Schema):
    recipients: int
    sent: int
    failed: int
    unknown: int
    pending: int
    capped: int = Field(
        description="People the frequency cap (TOCSIN_FREQUENCY_CAP) holds back: live before sending, "
        "as the audience snapshot found it after."
    )
    delivered: int | None = Field(
        description="Accepted by the recipients' mail servers, as the email provider reported it; "
        "null when it reports no deliveries (plain SMTP)."
    )


class VariantOut(Schema):
    subject: str
    sent: int
    opens: int
    clicks: int
    unsubscribes: int
    complaints: int


class ABTestOut(Schema):
    winner: str | None = Field(description="The winning subject's text; null until it is chosen.")
    metric: str
    sample_percent: int
    wait_minutes: int
    sample_size: int | None
    winner_at: Timestamp | None = Field(description="When the winner will be chosen, once the sample is out.")
    variants: list[VariantOut]


class CampaignOut(Schema):
    id: int
    kind: Annotated[str, OneOf(Campaign.Kind.values)]
    subject: str
    status: Annotated[str, OneOf(Campaign.Status.values)]
    status_reason: str
    language: str
    scheduled_at: Timestamp | None
    public_archive: bool
    audience: AudienceOut
    counts: CountsOut
    ab_test: ABTestOut | None = None
    exclude_acted: list[str] = Field(default=[], description="The actions whose signers are left out (slugs).")
    only_acted: list[str] = Field(default=[], description="The actions whose signers alone get it (slugs).")
