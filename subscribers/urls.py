from django.urls import path

from subscribers.views import leaving, signup

app_name = "subscribers"

urlpatterns: list = [
    # signup, confirmation (subscribers/views/signup.py)
    path("signup/", signup.signup, name="signup"),
    path("signup/thanks/", signup.signup_thanks, name="signup_thanks"),
    path("signup/embed/", signup.embed_snippet, name="embed"),
    path("signup/embed/submit/", signup.embed_submit, name="embed_submit"),
    path("confirm/<str:token>/", signup.confirm, name="confirm"),
    # unsubscribe, preferences (subscribers/views/leaving.py)
    path("unsubscribe/<str:token>/", leaving.unsubscribe, name="unsubscribe"),
    path("preferences/<str:token>/", leaving.preferences, name="preferences"),
]
