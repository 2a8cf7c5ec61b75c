"""One row per step in the journey's page: what each kind needs, and what saving a row does.

An email row's subject is its hidden campaign's; the text and translations
are written on the email's own page ("Write"). Deleting a row runs
``setup.remove_step``: the people due to run it move on to the next step.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import merge_fields
from campaigns.models import Campaign
from journeys.models import Step
from journeys.services import setup

K = Step.Kind


class StepForm(forms.ModelForm):
    email_subject = forms.CharField(
        label=gettext_lazy("subject"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"size": 24}),
        help_text=gettext_lazy("Email steps: the subject; write the text on the email's page."),
    )

    class Meta:
        model = Step
        fields = [
            "position",
            "kind",
            "wait_amount",
            "wait_unit",
            "wait_weekday",
            "wait_time",
            "condition",
            "branch_to",
            "mailing_list",
        ]
        widgets = {
            "position": forms.NumberInput(attrs={"style": "width:4em"}),
            "wait_amount": forms.NumberInput(attrs={"style": "width:4em"}),
            "wait_time": forms.TimeInput(format="%H:%M", attrs={"size": 5}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        campaign = self.instance.campaign if self.instance.pk and self.instance.campaign_id else None
        if campaign is not None:
            self.fields["email_subject"].initial = campaign.subject

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        checks: dict[str, Any] = {
            K.EMAIL: self._check_email,
            K.WAIT: self._check_wait,
            K.CONDITION: self._check_condition,
            K.ADD_TO_LIST: self._check_list,
            K.REMOVE_FROM_LIST: self._check_list,
        }
        check = checks.get(str(kind))
        if check is not None and not data.get("DELETE"):
            check(data)
        return data

    def _check_email(self, data: dict[str, Any]) -> None:
        subject = (data.get("email_subject") or "").strip()
        if not subject:
            self.add_error("email_subject", _("An email needs a subject."))
        for tag in merge_fields.problems(subject, fields_allowed=True):
            self.add_error(
                "email_subject",
                _("“%(tag)s” is not a merge field Tocsin knows: use {{ name }} or {{ first_name }}.") % {"tag": tag},
            )

    def _check_wait(self, data: dict[str, Any]) -> None:
        until = data.get("wait_weekday") is not None or data.get("wait_time") is not None
        if until and (data.get("wait_weekday") is None or data.get("wait_time") is None):
            self.add_error("wait_time", _("Give a weekday and a time together."))
        elif not until and not (data.get("wait_amount") and data.get("wait_unit")):
            self.add_error("wait_amount", _("Give an amount and a unit, or a weekday and a time."))

    def _check_condition(self, data: dict[str, Any]) -> None:
        if not data.get("condition"):
            self.add_error("condition", _("Choose a condition."))
        target = data.get("branch_to")
        if target is None:
            self.add_error("branch_to", _("Choose the step people who meet the condition go to."))
        elif target.position <= (data.get("position") or 0):
            self.add_error("branch_to", _("A condition goes to a later step."))

    def _check_list(self, data: dict[str, Any]) -> None:
        if data.get("mailing_list") is None:
            self.add_error("mailing_list", _("Choose the list."))


class StepFormSet(BaseInlineFormSet):
    moved = 0

    def delete_existing(self, obj: Step, commit: bool = True) -> None:
        if commit:
            self.moved += setup.remove_step(step=obj)

    def save_new(self, form: forms.ModelForm, commit: bool = True) -> Step:
        step = super().save_new(form, commit=False)
        self._email(step, form)
        step.save()
        return step

    def save_existing(self, form: forms.ModelForm, obj: Step, commit: bool = True) -> Step:
        step = super().save_existing(form, obj, commit=False)
        self._email(step, form)
        step.save()
        return step

    def _email(self, step: Step, form: forms.ModelForm) -> None:
        subject = (form.cleaned_data.get("email_subject") or "").strip()
        if step.kind != K.EMAIL:
            return
        if step.campaign_id is None:
            user = getattr(getattr(self, "request", None), "user", None)
            content = setup.EmailContent(subject=subject, body_markdown="")
            step.campaign = setup.create_email(journey=step.journey, content=content, actor=user)
        elif step.campaign is not None and subject and subject != step.campaign.subject:
            # updated_at too: the workers' cached renderer is keyed on it.
            Campaign.objects.filter(pk=step.campaign_id).update(subject=subject, updated_at=timezone.now())
