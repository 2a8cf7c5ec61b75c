"""The public sign-up form (the page and the embedded snippet post the same fields)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django import forms
from django.conf import settings
from django.core.validators import URLValidator
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from subscribers import consent_text
from subscribers.models import Consent, MailingList
from subscribers.services.signup import InvalidSignup, clean_email, clean_language, clean_name
from subscribers.text import has_control_characters

# The honeypot's name is one a form-filling bot is glad to fill; people never
# see it (hidden by CSS, out of the tab order, no autocomplete).
HONEYPOT_FIELD = "website"


class _RawCheckMixin:
    """Reject control characters before Django strips the value.

    CharField strips whitespace first, which would quietly turn
    ``"ana@example.org\\r\\n"`` into a valid address; a CR/LF anywhere is an
    attempt at header injection and deserves an error, not a fix-up.
    """

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and has_control_characters(value):
            raise forms.ValidationError(_("This field cannot contain line breaks or control characters."))
        return super().to_python(value)  # type: ignore[misc]


class StrictEmailField(_RawCheckMixin, forms.EmailField):
    """An address field that refuses line breaks and control characters instead of stripping them."""


class StrictCharField(_RawCheckMixin, forms.CharField):
    """A text field that refuses line breaks and control characters instead of stripping them."""


class _TopicsField(forms.ModelMultipleChoiceField):
    def clean(self, value: Any) -> Any:
        if isinstance(value, list | tuple) and any(isinstance(v, str) and has_control_characters(v) for v in value):
            raise forms.ValidationError(_("Choose topics from the list."), code="invalid_choice")
        return super().clean(value)


class SignupForm(forms.Form):
    email = StrictEmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "required": True}),
    )
    name = StrictCharField(
        label=_("Name (optional)"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    lists = _TopicsField(
        label=_("Topics"),
        queryset=MailingList.objects.none(),
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Tick at least one topic."),
            "invalid_choice": _("Choose topics from the list."),
            "invalid_pk_value": _("Choose topics from the list."),
        },
    )
    language = forms.TypedChoiceField(
        label=_("Language for our emails"),
        choices=settings.LANGUAGES,
        error_messages={"invalid_choice": _("Choose one of the languages offered.")},
    )
    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args: Any, language: str = "en", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Topics are the public lists, never pre-checked: consent is a box
        # the person ticked themselves.
        self.fields["lists"].queryset = MailingList.objects.filter(public=True)  # type: ignore[attr-defined]
        codes = [code for code, _label in settings.LANGUAGES]
        # Each language in its own name: a Spanish speaker on the English page
        # looks for "Español", not "Spanish".
        self.fields["language"].choices = [  # type: ignore[attr-defined]
            (code, get_language_info(code)["name_local"].capitalize()) for code in codes
        ]
        self.fields["language"].initial = language if language in codes else settings.LANGUAGE_CODE

    # The fields the sign-up page shows, each with its own errors next to it.
    SHOWN_FIELDS = ("email", "name", "lists", "language")

    def general_errors(self) -> list[str]:
        """Errors the page shows above the form: those of no field, and of fields it does not show.

        The embedded snippet posts hidden fields and gets this page back: an
        error on one of them, unshown, would look like a form that just
        came back, and the sign-up would be lost.
        """
        messages = [str(message) for message in self.non_field_errors()]
        for field, errors in self.errors.items():
            if field not in self.SHOWN_FIELDS and field != "__all__":
                messages.extend(str(message) for message in errors)
        return list(dict.fromkeys(messages))

    @property
    def is_bot(self) -> bool:
        """The honeypot was filled in: answer as if all went well, write nothing."""
        return bool(self.data.get(HONEYPOT_FIELD, "").strip())

    def _service_check(self, field: str, check: Any) -> Any:
        value = self.cleaned_data.get(field)
        if value in (None, ""):
            return value
        try:
            return check(value)
        except InvalidSignup as error:
            raise forms.ValidationError(error.message) from None

    def clean_email(self) -> Any:
        return self._service_check("email", clean_email)

    def clean_name(self) -> Any:
        return self._service_check("name", clean_name)

    def clean_language(self) -> Any:
        return self._service_check("language", clean_language)


def clip_url(url: str, length: int) -> str:
    """``url`` within ``length`` characters, dropping the fragment, then the query, before cutting."""
    if len(url) <= length:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url[:length]
    for shorter in (parts._replace(fragment=""), parts._replace(query="", fragment="")):
        candidate = urlunsplit(shorter)
        if len(candidate) <= length:
            return candidate
    return urlunsplit(parts._replace(query="", fragment=""))[:length]


class _RecordOnlyField(forms.CharField):
    """A detail kept for the consent record only: what cannot be used is dropped by the form, never an error."""

    def run_validators(self, value: Any) -> None:
        # CharField refuses NUL characters here; the form's clean method
        # drops such a value instead.
        return None


PAGE_URL_LENGTH: int = Consent._meta.get_field("page_url").max_length  # type: ignore[assignment]


class EmbedSignupForm(SignupForm):
    """The embedded snippet also says which consent wording it showed, and where."""

    # No max_length on these hidden fields: a length error there is one the
    # person can neither see nor fix.
    wording_version = forms.CharField(required=False)
    wording_language = forms.CharField(required=False)
    # Browsers send only the origin as Referer to another site by default
    # (strict-origin-when-cross-origin), so the snippet lets staff write the
    # page's address here for the consent record.
    page_url = _RecordOnlyField(required=False)

    OUTDATED = _(
        "The form you used is out of date, so we cannot tell which consent text it showed you. "
        "Your details are kept below: please read the text next to the button, then sign up here."
    )

    def clean_page_url(self) -> str:
        # A page address that is too long is clipped, one that is not an
        # address is dropped (the Referer stands in): the consent record
        # loses a detail, the person does not lose their sign-up.
        value = self.cleaned_data.get("page_url") or ""
        if has_control_characters(value):
            return ""
        value = clip_url(value, PAGE_URL_LENGTH)
        try:
            URLValidator(schemes=["http", "https"])(value)
        except forms.ValidationError:
            return ""
        return value

    def clean_wording_version(self) -> str:
        # An older version is fine: its text is kept (consent_text.py), and
        # that is what the person read.
        version = self.cleaned_data.get("wording_version") or consent_text.CURRENT_VERSION
        if version not in consent_text.WORDINGS:
            raise forms.ValidationError(self.OUTDATED, code="unknown_wording")
        return version

    def clean_wording_language(self) -> str:
        language = self.cleaned_data.get("wording_language") or ""
        if language and language not in {code for code, _label in settings.LANGUAGES}:
            raise forms.ValidationError(self.OUTDATED, code="unknown_wording")
        return language
