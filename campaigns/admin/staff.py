"""Staff accounts in the admin: Django's user admin, plus issuing a colleague a backup code.

A person with no second factor yet (a new sender, or one who lost their
phone) cannot set one up with their password alone (campaigns/staff/two_factor.py):
someone who manages staff accounts gives them a single-use backup code,
shown once here and written to the audit log.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.staff.two_factor import give_backup_code, is_verified

User = get_user_model()


class StaffUserAdmin(UserAdmin):
    titles = {
        "add": gettext_lazy("Add a staff account"),
        "change": gettext_lazy("Edit staff account"),
        "view": gettext_lazy("View staff account"),
    }
    actions = ["issue_backup_codes"]

    @admin.action(description=gettext_lazy("Issue a two-step backup code"), permissions=["change"])
    def issue_backup_codes(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        if not is_verified(request.user):
            # The code stands in for a colleague's second factor: only someone
            # who passed their own may hand one out.
            self.message_user(request, _("Verify your own second step first."), messages.ERROR)
            return None
        people = [person for person in queryset.order_by("username") if person.is_active]
        codes = [(person, give_backup_code(user=person, issued_by=request.user)) for person in people]
        return TemplateResponse(
            request,
            "admin/auth/user/backup_codes.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Two-step backup codes"),
                "opts": self.opts,
                "codes": codes,
                "skipped": queryset.count() - len(people),
            },
        )


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, StaffUserAdmin)
