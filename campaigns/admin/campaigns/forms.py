"""The campaign form: fields for staff, rules from ``campaigns.services.drafts``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import ABTest, Campaign
from campaigns.services import drafts
from subscribers.dates import check_form_dates
from subscribers.text import has_control_characters

K = Campaign.Kind
DONOR_RULE_ALL = "all"
# Which kinds use which fields: the form shows each field only for its kinds
# (static/tocsin/admin-campaign.css hides the others as the kind changes).
KIND_FIELDS: dict[str, set[str]] = {
    "call_to_action_text": {K.ALERT, K.APPEAL},
    "call_to_action_url": {K.ALERT, K.APPEAL},
    "donor_rule": {K.APPEAL},
    "exclude_donors_days": {K.APPEAL},
}


def kind_classes(*kinds: str) -> list[str]:
    return ["tocsin-kind", *(f"tocsin-for-{kind}" for kind in kinds)]


# The form's fields for an A/B test, and the drafts service's names for them.
AB_FIELDS = {
    "ab_subject_2": "subjects",
    "ab_sample_percent": "sample_percent",
    "ab_wait_minutes": "wait_minutes",
    "ab_metric": "metric",
}
_OTHER_SUBJECTS = ["ab_subject_2", "ab_subject_3", "ab_subject_4"]


def _subject_field(label: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"class": "vTextField", "style": "width:min(100%,42rem)"}),
    )


class CampaignForm(forms.ModelForm):
    ab_enabled = forms.BooleanField(
        label=gettext_lazy("Test subjects on a sample first"),
        required=False,
        help_text=gettext_lazy(
            "The subject above is subject A. Each subject goes to an equal random share of the sample; after the "
            "wait, the winner goes to everyone else. Nobody gets two."
        ),
    )
    ab_subject_2 = _subject_field(gettext_lazy("Subject B"))
    ab_subject_3 = _subject_field(gettext_lazy("Subject C (optional)"))
    ab_subject_4 = _subject_field(gettext_lazy("Subject D (optional)"))
    ab_sample_percent = forms.IntegerField(
        label=gettext_lazy("Sample (percent of the audience)"), min_value=1, max_value=99, initial=20, required=False
    )
    ab_wait_minutes = forms.IntegerField(
        label=gettext_lazy("Wait before choosing the winner (minutes)"),
        min_value=0,
        max_value=drafts.MAX_WAIT_MINUTES,
        initial=240,
        required=False,
        help_text=gettext_lazy("Counted from the end of the sample's send."),
    )
    ab_metric = forms.ChoiceField(
        label=gettext_lazy("Winner by"),
        choices=ABTest.Metric.choices,
        initial=ABTest.Metric.CLICKS,
        required=False,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "Prefer clicks: Apple Mail Privacy Protection loads every image, so many “opens” are not people."
        ),
    )
    languages = forms.MultipleChoiceField(
        label=gettext_lazy("Only readers of"),
        choices=settings.LANGUAGES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Tick none to reach everyone, whatever their language."),
    )
    call_to_action_url = forms.URLField(
        label=gettext_lazy("Button link"),
        required=False,
        assume_scheme="https",
        max_length=200,
        help_text=gettext_lazy("For appeals: the donate page. The campaign's attribution code is added to it."),
    )

    class Meta:
        model = Campaign
        fields = [
            "kind",
            "subject",
            "preheader",
            "language",
            "intro_markdown",
            "body_markdown",
            "call_to_action_text",
            "call_to_action_url",
            "from_name",
            "from_email",
            "reply_to",
            "lists",
            "languages",
            "signed_up_after",
            "signed_up_before",
            "engaged_within_days",
            "donor_rule",
            "exclude_donors_days",
            "tracking_enabled",
            "public_archive",
        ]
        widgets = {
            "subject": forms.TextInput(attrs={"class": "vTextField", "style": "width:min(100%,42rem)"}),
            "preheader": forms.TextInput(attrs={"class": "vTextField", "style": "width:min(100%,42rem)"}),
            "intro_markdown": forms.Textarea(attrs={"rows": 4}),
            "body_markdown": forms.Textarea(attrs={"rows": 14}),
            "lists": forms.CheckboxSelectMultiple,
            "donor_rule": forms.RadioSelect,
            # Values as the widget formats True/False/None, so the saved choice shows as checked.
            "public_archive": forms.RadioSelect(
                choices=[
                    ("", gettext_lazy("As its kind: bulletins yes, alerts and appeals no")),
                    ("True", gettext_lazy("Yes, once sent")),
                    ("False", gettext_lazy("No")),
                ]
            ),
        }
        labels = {
            "intro_markdown": gettext_lazy("Introduction"),
            "body_markdown": gettext_lazy("Text"),
            "call_to_action_text": gettext_lazy("Button text"),
            "exclude_donors_days": gettext_lazy("Leave out people who gave in the last … days"),
            "donor_rule": gettext_lazy("Donors"),
            "tracking_enabled": gettext_lazy("Count opens and clicks"),
        }
        help_texts = {
            "subject": gettext_lazy('Merge fields: {{ name|default:"friend" }}.'),
            "preheader": gettext_lazy("The grey line inboxes show after the subject."),
            "body_markdown": gettext_lazy(
                'Markdown. Greet readers with {{ name|default:"friend" }}. For bulletins, add articles below.'
            ),
            "tracking_enabled": gettext_lazy(
                "Off: no open pixel and no rewritten links for anyone. Turn it off for readers at risk."
            ),
            "lists": gettext_lazy("Everyone confirmed on any of these lists (each person once)."),
            "exclude_donors_days": gettext_lazy("The N of the donor rule above; empty: that rule's default."),
            "donor_rule": gettext_lazy("For appeals. Monthly donors are always left out of appeals."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        check_form_dates(self)
        test = ABTest.objects.filter(campaign_id=self.instance.pk).first() if self.instance.pk else None
        if test is not None:
            others = dict(zip(_OTHER_SUBJECTS, test.subjects[1:], strict=False))
            self.initial.update(
                ab_enabled=True,
                ab_sample_percent=test.sample_percent,
                ab_wait_minutes=test.wait_minutes,
                ab_metric=test.metric,
                **others,
            )
        if "donor_rule" in self.fields:
            # Forms posted without it (older pages, scripts) mean "all", as the API does.
            self.fields["donor_rule"].required = False

    def clean_subject(self) -> str:
        subject = self.cleaned_data["subject"]
        if has_control_characters(subject):
            raise forms.ValidationError(_("A subject is one line, without line breaks."))
        return subject.strip()

    def clean_preheader(self) -> str:
        value = self.cleaned_data.get("preheader", "")
        if has_control_characters(value):
            raise forms.ValidationError(_("One line, without line breaks."))
        return value

    def clean_donor_rule(self) -> str:
        return self.cleaned_data.get("donor_rule") or DONOR_RULE_ALL

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Fields of another kind were hidden from staff when they changed the kind
        # (KIND_FIELDS): what they cannot see is reset, never an error they cannot reach.
        kind = data.get("kind")
        for name, kinds in KIND_FIELDS.items():
            if kind not in kinds and name in data:
                data[name] = self.fields[name].clean(None) if name != "donor_rule" else DONOR_RULE_ALL
        for field, messages in drafts.problems(data).items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        self._check_ab_test(data)
        return data

    def ab_test_values(self) -> dict[str, Any] | None:
        """The A/B test as the drafts service takes it, or None (no test)."""
        data = self.cleaned_data
        if not data.get("ab_enabled"):
            return None
        others = [str(data.get(name) or "").strip() for name in _OTHER_SUBJECTS]
        return {
            "subjects": [str(data.get("subject") or "").strip(), *(subject for subject in others if subject)],
            "sample_percent": data.get("ab_sample_percent"),
            "wait_minutes": data.get("ab_wait_minutes"),
            "metric": data.get("ab_metric") or ABTest.Metric.CLICKS,
        }

    def _check_ab_test(self, data: dict[str, Any]) -> None:
        for name in _OTHER_SUBJECTS:
            if has_control_characters(str(data.get(name) or "")):
                self.add_error(name, _("A subject is one line, without line breaks."))
        values = self.ab_test_values()
        if values is None or any(name in self.errors for name in AB_FIELDS):
            return
        names = {service: form for form, service in AB_FIELDS.items()}
        for field, message in drafts.ab_test_problems(values):
            self.add_error(names.get(field), message)
