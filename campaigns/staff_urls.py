from django.urls import path

from campaigns import staff

app_name = "staff_2fa"

urlpatterns = [
    path("verify/", staff.verify, name="verify"),
    path("setup/", staff.setup, name="setup"),
]
