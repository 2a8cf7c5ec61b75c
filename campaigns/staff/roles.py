"""Staff roles: writer, sender, admin — Django groups built from permissions.

- **writer** writes articles and campaign drafts, previews them and sends
  tests to staff addresses; cannot approve, schedule or send.
- **sender** does what a writer does, and approves, schedules, sends, pauses,
  resumes and cancels campaigns.
- **admin** has every permission, including exporting subscribers.

``ensure_roles()`` (called after every ``migrate`` and by ``seed_demo``)
creates the groups and resets their permissions to this definition, so a
deploy always leaves the roles as documented here.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from subscribers.models import EXPORT_PERMISSION

WRITER = "writer"
SENDER = "sender"
ADMIN = "admin"

SEND_PERMISSION = "campaigns.send_campaign"
APPROVE_PERMISSION = "campaigns.approve_campaign"
MANAGE_STAFF_PERMISSION = "auth.change_user"

_WRITER_PERMISSIONS = [
    "campaigns.add_article",
    "campaigns.change_article",
    "campaigns.view_article",
    "campaigns.add_campaign",
    "campaigns.change_campaign",
    "campaigns.view_campaign",
    "campaigns.add_campaignarticle",
    "campaigns.change_campaignarticle",
    "campaigns.delete_campaignarticle",
    "campaigns.view_campaignarticle",
    "campaigns.add_campaigntranslation",
    "campaigns.change_campaigntranslation",
    "campaigns.delete_campaigntranslation",
    "campaigns.view_campaigntranslation",
    "subscribers.view_mailinglist",
]
_SENDER_PERMISSIONS = [
    *_WRITER_PERMISSIONS,
    SEND_PERMISSION,
    APPROVE_PERMISSION,
    "campaigns.view_delivery",
    "campaigns.view_deliveryevent",
    "campaigns.view_auditlog",
]

# What apps above campaigns add to the writer and sender roles (admin has every
# permission anyway): filled from their AppConfig.ready() through ``contribute``.
_contributed: dict[str, list[str]] = {WRITER: [], SENDER: []}


def contribute(role: str, permissions: list[str]) -> None:
    """A higher app's permissions for ``role`` (a sender also gets what writers get)."""
    if role not in _contributed:
        raise ValueError(f"unknown role {role!r}")
    _contributed[role].extend(name for name in permissions if name not in _contributed[role])


# Permissions that are not declared on a model's Meta by us: created here so
# roles can hold them whatever order the apps define theirs in.
_EXTRA_PERMISSIONS = {
    EXPORT_PERMISSION: ("subscribers", "subscriber", "Can export subscribers"),
}


def _ensure_extra_permissions() -> None:
    for dotted, (app_label, model, name) in _EXTRA_PERMISSIONS.items():
        codename = dotted.split(".", 1)[1]
        try:
            content_type = ContentType.objects.get_by_natural_key(app_label, model)
        except ContentType.DoesNotExist:
            content_type = ContentType.objects.create(app_label=app_label, model=model)
        Permission.objects.get_or_create(content_type=content_type, codename=codename, defaults={"name": name})


def _permissions(dotted: list[str]) -> list[Permission]:
    query = Q(pk__in=[])
    for name in dotted:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query))


def ensure_roles() -> dict[str, Group]:
    """Create (or repair) the writer, sender and admin groups. Idempotent."""
    _ensure_extra_permissions()
    groups = {}
    for name, perms in (
        (WRITER, _permissions([*_WRITER_PERMISSIONS, *_contributed[WRITER]])),
        (SENDER, _permissions([*_SENDER_PERMISSIONS, *_contributed[WRITER], *_contributed[SENDER]])),
        (ADMIN, list(Permission.objects.all())),
    ):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(perms)
        groups[name] = group
    return groups


def ensure_roles_after_migrate(sender: Any, **kwargs: Any) -> None:
    # Django creates model permissions in its own post_migrate handler; ours
    # is connected for the campaigns app, which comes after auth/subscribers.
    ensure_roles()


def can_send(user: Any) -> bool:
    return bool(user and user.is_active and user.has_perm(SEND_PERMISSION))


def can_approve(user: Any) -> bool:
    return bool(user and user.is_active and user.has_perm(APPROVE_PERMISSION))


def can_export(user: Any) -> bool:
    return bool(user and user.is_active and user.has_perm(EXPORT_PERMISSION))


def can_manage_staff(user: Any) -> bool:
    """Who may change staff accounts, and so issue a colleague a two-step enrolment code."""
    return bool(user and user.is_active and user.has_perm(MANAGE_STAFF_PERMISSION))


def needs_two_factor(user: Any) -> bool:
    """Anyone who can send, approve or export holds the keys to the whole list.

    So does anyone who can change staff accounts: they could give themselves
    any role, or a colleague's second factor (an enrolment code).
    """
    if not (user and user.is_authenticated and user.is_active):
        return False
    return bool(user.is_superuser or can_send(user) or can_approve(user) or can_export(user) or can_manage_staff(user))
