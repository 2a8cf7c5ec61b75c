from django.urls import path

from campaigns.staff import two_factor

app_name = "staff_2fa"

urlpatterns = [
    path("verify/", two_factor.verify, name="verify"),
    path("setup/", two_factor.setup, name="setup"),
]
