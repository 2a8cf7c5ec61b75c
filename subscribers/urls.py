from django.urls import path  # noqa: F401

app_name = "subscribers"

urlpatterns: list = [
    # signup, confirmation (subscribers/views/signup.py)
    # unsubscribe, preferences (subscribers/views/leaving.py)
]
