"""The public form of an action page (and of its embedded snippet): same fields as the API.

The form checks shape (required, lengths, no control characters in
one-line fields); ``actions.services.sign`` has the last word, and its
errors are put back on the form's fields by the view.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from actions.models import Action
from actions.services import COMMENT_LIMIT

# The sign-up form's fields, which refuse control characters before Django
# strips the value (a CR/LF is header injection, not whitespace to tidy):
# the same rules as sign-up, not a copy of them.
from subscribers.forms import HONEYPOT_FIELD, StrictCharField, StrictEmailField
from subscribers.models import MailingList
from subscribers.text import has_control_characters, text_problem


class _OptInField(forms.ModelMultipleChoiceField):
    def clean(self, value: Any) -> Any:
        if isinstance(value, list | tuple) and any(isinstance(v, str) and has_control_characters(v) for v in value):
            raise forms.ValidationError(_("Choose from the lists offered."), code="invalid_choice")
        return super().clean(value)


def _multi_line(value: str) -> None:
    problem = text_problem(value)
    if problem:
        raise forms.ValidationError(problem)


def _fields_not_shown(action: Action, *, offers_lists: bool) -> set[str]:
    dropped = set() if offers_lists else {"opt_in_lists"}
    policy = action.edit_policy
    if not action.is_letter:
        return dropped | {"city", "letter_subject", "letter_body"}
    if policy == Action.EditPolicy.FULL:
        return dropped | {"message"}
    if policy == Action.EditPolicy.FIXED:
        return dropped | {"letter_subject", "letter_body", "message"}
    return dropped | {"letter_subject", "letter_body"}


class SignatureForm(forms.Form):
    name = StrictCharField(
        label=_("Your name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name", "required": True}),
    )
    email = StrictEmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "required": True}),
    )
    postal_code = StrictCharField(
        label=_("Postal code"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "size": 8, "placeholder": "K1A 0A6"}),
    )
    city = StrictCharField(
        label=_("City (optional)"),
        max_length=100,
        required=False,
        help_text=_("Written under your letter with your postal code."),
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    letter_subject = StrictCharField(label=_("Subject"), max_length=200, required=False)
    letter_body = forms.CharField(
        label=_("Your letter"), required=False, widget=forms.Textarea(attrs={"rows": 14}), validators=[_multi_line]
    )
    message = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        validators=[_multi_line],
    )
    opt_in_lists = _OptInField(
        label=_("Keep me informed"),
        queryset=MailingList.objects.none(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": _("Choose from the lists offered."),
            "invalid_pk_value": _("Choose from the lists offered."),
        },
    )
    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args: Any, action: Action, **kwargs: Any) -> None:
        offers_lists = getattr(action, "offers_lists", None)  # annotated by the views' action_for
        if offers_lists is None:
            offers_lists = action.lists.exists()
        # Only the fields this action shows are copied from the class (Django deep-copies each on every form).
        dropped = _fields_not_shown(action, offers_lists=offers_lists)
        self.base_fields = {name: field for name, field in self.base_fields.items() if name not in dropped}  # type: ignore[misc]
        super().__init__(*args, **kwargs)
        self.action = action
        if offers_lists:
            # Unticked, always: consent is a box the person ticked themselves.
            self.fields["opt_in_lists"].queryset = action.lists.all()  # type: ignore[attr-defined]
        if action.is_letter:
            self.fields["postal_code"].required = True
            self.fields["postal_code"].widget.attrs["required"] = True
            policy = action.edit_policy
            if policy == Action.EditPolicy.FULL:
                self.fields["letter_subject"].initial = action.letter_subject
                self.fields["letter_body"].initial = action.letter_body
                self.fields["letter_body"].widget.attrs["maxlength"] = action.edit_limit
            elif policy == Action.EditPolicy.PARAGRAPH:
                self.fields["message"].label = _("Your own paragraph (optional)")
                self.fields["message"].widget.attrs["maxlength"] = action.edit_limit
                self.fields["message"].help_text = _(
                    "Up to %(limit)d characters, added to the letter above your name."
                ) % {"limit": action.edit_limit}
        else:
            self.fields["message"].widget.attrs["maxlength"] = COMMENT_LIMIT

    @property
    def is_bot(self) -> bool:
        """The honeypot was filled in: answer as if all went well, write nothing."""
        return bool(self.data.get(HONEYPOT_FIELD, "").strip())

    def signing_data(self) -> dict[str, Any]:
        """The cleaned fields as ``services.sign`` takes them (JSON-ready, for the district step)."""
        data = self.cleaned_data
        return {
            "name": data.get("name") or "",
            "email": data.get("email") or "",
            "postal_code": data.get("postal_code") or "",
            "city": data.get("city") or "",
            "message": data.get("message") or "",
            "letter_subject": data.get("letter_subject") if "letter_subject" in self.fields else None,
            "letter_body": data.get("letter_body") if "letter_body" in self.fields else None,
            "opt_in_lists": [mailing_list.slug for mailing_list in data.get("opt_in_lists") or []],
        }


class EmbedSignatureForm(SignatureForm):
    """The embedded snippet also says which consent wording it showed and on which page."""

    wording_version = forms.CharField(required=False, max_length=40)
    page_url = forms.CharField(required=False, max_length=2000)


class PersonalSignForm(forms.Form):
    """The personal link's one button: only what Tocsin does not know yet is asked.

    The name is asked when the subscriber has none; the postal code travels
    as a hidden field when Tocsin knows it (from an earlier signature) and is
    asked when a letter needs one and Tocsin does not.
    """

    name = StrictCharField(
        label=_("Your name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "name", "required": True})
    )
    postal_code = StrictCharField(
        label=_("Postal code"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "size": 8, "placeholder": "K1A 0A6"}),
    )

    city = SignatureForm.base_fields["city"]

    def __init__(self, *args: Any, action: Action, name: str, postal_code: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.known_name = name
        self.ask_postal_code = action.is_letter and not postal_code
        if name:
            del self.fields["name"]
        if self.ask_postal_code:
            self.fields["postal_code"].required = True
            self.fields["postal_code"].widget.attrs["required"] = True
        else:
            # The city goes with a postal code the supporter types; a known one signs as before.
            del self.fields["city"]
            self.fields["postal_code"].widget = forms.HiddenInput()
            self.fields["postal_code"].initial = postal_code

    def signing_data(self, *, email: str) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": self.known_name or data.get("name") or "",
            "email": email,
            "postal_code": data.get("postal_code") or "",
            "city": data.get("city") or "",
            "message": "",
            "letter_subject": None,
            "letter_body": None,
            "opt_in_lists": [],
        }
