"""What /api/v1/actions reads and answers; merged into the API's OpenAPI document with the router."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, create_model, model_validator

from actions.models import Action
from campaigns.api.fields import LANGUAGES, Flag, Language, OneOf, Slug, Text, WholeNumber, problem

MAX_MARKDOWN = 100_000
MAX_LETTER = 20_000
MAX_DAILY_CAP = 1_000_000


def _action_slug(value: str) -> str:
    try:
        validate_slug(value)
    except ValidationError:
        raise problem("slug", _("Use only letters, digits, hyphens and underscores.")) from None
    return value


ActionSlug = Annotated[str, Text(100, required=True, pattern=r"^[-a-zA-Z0-9_]+$"), AfterValidator(_action_slug)]


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class LetterInput(Input):
    subject: Annotated[str, Text(200)] | None = None
    body: Annotated[str, Text(MAX_LETTER, single_line=False)] | None = None
    edit_policy: Annotated[str, OneOf(Action.EditPolicy.values)] | None = Field(
        default=None,
        description="fixed: sent as written; paragraph (the default): supporters may add a paragraph; "
        "full: supporters may edit the whole letter.",
    )
    edit_limit: Annotated[int, WholeNumber(1, MAX_LETTER)] | None = Field(default=None, description="Default 1500.")


class DeliveryInput(Input):
    """How a letter reaches its targets; every field optional (the defaults are the admin's)."""

    mode: Annotated[str, OneOf(Action.DeliveryMode.values)] | None = Field(
        default=None,
        description="each (the default): each letter as it comes; digest: one email per target each day.",
    )
    digest_hour: Annotated[int, WholeNumber(0, 23)] | None = Field(
        default=None, description="For digests: the hour (in the organisation's time zone) they go out. Default 17."
    )
    daily_cap: Annotated[int, WholeNumber(1, MAX_DAILY_CAP)] | None = Field(
        default=None,
        description="At most this many letters of this action reach one target a day; the rest wait for the "
        "next day. Absent or null: no limit.",
    )
    test_mode: Flag | None = Field(
        default=None,
        description="Letters go to test_email (or the token's user), never to the targets, until the action "
        "opens. Default: true for a draft, false for an action opened at once.",
    )
    test_email: Annotated[str, Text(254, format="email")] | None = None


class TargetsInput(Input):
    group: Annotated[str, Text(120, description="A target group's short name.")] | None = None
    by_district: Flag | None = Field(
        default=None,
        description="Each supporter writes to the targets of their own district, found from their postal code.",
    )
    fixed: list[Annotated[str, Text(254, format="email")]] | None = Field(
        default=None, max_length=500, description="Targets' addresses."
    )


class TranslatedLetterInput(Input):
    subject: Annotated[str, Text(200)] | None = None
    body: Annotated[str, Text(MAX_LETTER, single_line=False)] | None = None


class ActionTranslationInput(Input):
    title: Annotated[str, Text(200, required=True)]
    body_markdown: Annotated[str, Text(MAX_MARKDOWN, single_line=False)] | None = None
    letter: TranslatedLetterInput | None = None


class _Translations(Input):
    @model_validator(mode="before")
    @classmethod
    def _known_languages(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [str(code)[:10] for code in data if code not in LANGUAGES]
            if unknown:
                raise problem("translations", _("Unknown language: %(code)s") % {"code": ", ".join(unknown)})
        return data


# One optional field per language offered (settings.LANGUAGES), as campaigns' translations.
if TYPE_CHECKING:
    ActionTranslationsInput = _Translations
else:
    ActionTranslationsInput = create_model(
        "ActionTranslationsInput",
        __base__=_Translations,
        **{code: (ActionTranslationInput | None, None) for code in LANGUAGES},
    )


class ActionInput(Input):
    kind: Annotated[str, OneOf(Action.Kind.values)]
    slug: ActionSlug
    title: Annotated[str, Text(200, required=True)]
    body_markdown: Annotated[str, Text(MAX_MARKDOWN, single_line=False, required=True)]
    goal: Annotated[int, WholeNumber(1, 100_000_000)] | None = None
    status: Annotated[str, OneOf([Action.Status.DRAFT, Action.Status.OPEN])] | None = Field(
        default=None, description="Default: open."
    )
    lists: list[Slug] | None = Field(
        default=None, max_length=100, description="Lists offered as unticked opt-in boxes."
    )
    share_image_url: Annotated[str, Text(200, format="uri")] | None = None
    letter: LetterInput | None = None
    targets: TargetsInput | None = None
    delivery: DeliveryInput | None = Field(default=None, description="Letters only: how they reach the targets.")
    translations: ActionTranslationsInput | None = Field(
        default=None, description="The page and the letter in other languages: {lang: {title, body_markdown, letter}}."
    )


class ActionCreated(Schema):
    id: int
    slug: str
    url: str


class LetterCounts(Schema):
    """pending: waiting for or being sent; by_hand: for targets that take no email, delivered by staff."""

    sent: int
    failed: int
    pending: int
    unknown: int
    by_hand: int


class ActionCounts(Schema):
    signatures: int
    letters: LetterCounts


class LetterOut(Schema):
    subject: str
    body: str
    edit_policy: Annotated[str, OneOf(Action.EditPolicy.values)]
    edit_limit: int


class DeliveryOut(Schema):
    mode: Annotated[str, OneOf(Action.DeliveryMode.values)]
    digest_hour: int
    daily_cap: int | None
    test_mode: bool
    test_email: str


class ActionOut(Schema):
    id: int
    slug: str
    kind: Annotated[str, OneOf(Action.Kind.values)]
    title: str
    status: Annotated[str, OneOf(Action.Status.values)]
    goal: int | None
    url: str
    counts: ActionCounts
    letter: LetterOut | None = Field(default=None, description="Letters only (null for a petition).")
    delivery: DeliveryOut | None = Field(default=None, description="Letters only (null for a petition).")


class SignatureInput(Input):
    email: Annotated[str, Text(254, required=True, format="email")]
    name: Annotated[str, Text(100, required=True)]
    postal_code: Annotated[str, Text(20, description="Canadian, e.g. K1A 0A6.")] | None = None
    district: Annotated[str, Text(32, description="A district code, when asked.")] | None = None
    city: (
        Annotated[str, Text(100, description="Written under the letter with the postal code (default: the district).")]
        | None
    ) = None
    message: (
        Annotated[
            str,
            Text(
                MAX_LETTER,
                single_line=False,
                description="A petition comment, or the supporter's paragraph in a letter.",
            ),
        ]
        | None
    ) = None
    letter_subject: Annotated[str, Text(200)] | None = None
    letter_body: Annotated[str, Text(MAX_LETTER, single_line=False)] | None = None
    opt_in_lists: list[Slug] | None = Field(default=None, max_length=100)
    source: Annotated[str, Text(255, description="Where the signature came from, e.g. a partner's website.")] | None = (
        None
    )
    page_url: Annotated[str, Text(500)] | None = None
    language: Language | None = None


class SignatureOut(Schema):
    id: int
    created: bool
    letters: int = Field(description="Letters written by this call.")


class DistrictOption(Schema):
    code: str
    name: str


class DistrictChoice(Schema):
    """A 400: invalid input, or the district must be chosen among ``choices``."""

    detail: str | None = None
    errors: dict[str, list[str]]
    choices: list[DistrictOption] | None = None


def signature_fields(payload: SignatureInput) -> dict[str, Any]:
    """The signing service's arguments from the API's names."""
    fields = payload.model_dump(exclude_none=True, exclude={"district", "source"})
    fields["district_code"] = payload.district or ""
    fields["source_detail"] = payload.source or ""
    return fields
