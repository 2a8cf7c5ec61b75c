"""The campaign admin: ``admin`` (the ModelAdmin), ``forms``, ``panel`` (above the form), ``views`` (its buttons)."""

from campaigns.admin.campaigns import admin  # noqa: F401  (registers CampaignAdmin)
