"""Tocsin settings: one file, every value from the environment.

Every variable read here is listed, with its default, in ``.env.example``.
SQLite under ``var/`` and a local Redis are the defaults, so a fresh clone
runs with no configuration at all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _

from config import observability
from config.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_cap,
    env_count,
    env_float,
    env_int,
    env_list,
    env_str,
    with_display_name,
)
from config.installation import installation_secret, new_secret_key, new_webhook_secret

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TOCSIN_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfiguredEnv("SECRET_KEY must be set when DEBUG is off")
    # A key of this installation's own (config/installation.py), never one
    # written in the repository: that one would let anyone forge links.
    SECRET_KEY = installation_secret(VAR_DIR / "secret-key.txt", generate=new_secret_key, variable="SECRET_KEY")
# Old keys stay valid for verifying signatures: unsubscribe links in emails
# sent months ago must keep working after a key rotation (CASL: 60 days).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{env_int('PORT', 8000)}").rstrip("/")
_site = urlsplit(SITE_URL)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [_site.hostname or "localhost", "localhost", "127.0.0.1", "testserver"])
CSRF_TRUSTED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"]
# A form refused for its missing or stale security cookie: a branded page saying what to do.
CSRF_FAILURE_VIEW = "config.views.csrf_failure"

INSTALLED_APPS = [
    # Django's admin with Tocsin's site: the organisation's name, sections as staff work.
    "config.apps.TocsinAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "anymail",
    "csp",
    # The API's docs page (/api/v1/docs) serves Swagger UI from ninja's static files, not a CDN.
    "ninja",
    # Below every domain app: task calls written with the change, relayed to Celery (outbox/relay.py).
    "outbox",
    "subscribers",
    "campaigns",
    "import_export",
    "donations",
    "actions",
    # Outgoing webhooks to the organisation's CRM: above every app whose events it sends.
    "integrations",
    "journeys",
]

MIDDLEWARE = [
    # First, so it sees every answer under /api/, the error pages included.
    "campaigns.api.middleware.JsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Content-Security-Policy: strict on public pages, the admin's own (config/csp.py).
    # Outside the text guard below, so its 400 page carries the policy too.
    "config.csp.TocsinCSPMiddleware",
    # Before anything reads input: NUL, lone surrogates and control characters
    # are a 400 here (config/middleware.py), in the visitor's language.
    "config.middleware.UnsafeTextMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Staff who can send, approve or export must pass a second factor (campaigns/staff/two_factor.py).
    "campaigns.staff.two_factor.RequireTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tocsin.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file in `make run`: wait for the
    # write lock instead of failing with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
else:
    # A database host that stops answering costs a request a few seconds and
    # a 503 page (config/views.py), not a web process hung until its timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Rate limits and the send throttle must be shared by every web and worker
# process, so the cache is Redis; CACHE_URL=locmem:// is for unit tests only.
CACHE_URL = env_str("CACHE_URL", REDIS_URL)
CACHES: dict[str, dict[str, Any]]
if CACHE_URL.startswith("locmem://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.TocsinRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "tocsin",
            # A Redis that stops answering must cost a request a second or
            # two, not hang it: its callers carry on without it.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }

# --- Auth -------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # django-axes first, so a locked-out user is refused before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_float("AXES_COOLOFF_HOURS", 1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The client's address as sign-up's rate limits see it (TOCSIN_TRUSTED_PROXY_COUNT):
# behind a reverse proxy REMOTE_ADDR is the proxy's, shared by everyone, and
# five wrong passwords from anyone would lock the real staff member out.
AXES_CLIENT_IP_CALLABLE = "subscribers.ratelimit.client_ip"
LOGIN_URL = "admin:login"

# --- Internationalisation --------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("fr", _("French")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "America/Lima")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"

# --- Email -------------------------------------------------------------------
# EMAIL_URL=smtp://[user:password@]host:port sends everything by SMTP there
# (smtp+tls:// for STARTTLS, smtps:// for implicit TLS). ESP=postmark (or any
# Anymail backend module) sends through that provider. Neither: the local
# catcher that `make run` starts on TOCSIN_CATCHER_SMTP_PORT.
EMAIL_URL = env_str("EMAIL_URL")
ESP = env_str("ESP")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
if ESP:
    EMAIL_BACKEND = f"anymail.backends.{ESP}.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    _email_url = EMAIL_URL or f"smtp://127.0.0.1:{env_int('TOCSIN_CATCHER_SMTP_PORT', 1025)}"
    _parts = urlsplit(_email_url)
    if _parts.scheme not in {"smtp", "smtp+tls", "smtps"} or not _parts.hostname:
        raise ImproperlyConfiguredEnv(f"EMAIL_URL={_email_url!r} must look like smtp://host:port")
    EMAIL_HOST = _parts.hostname
    EMAIL_PORT = _parts.port or (465 if _parts.scheme == "smtps" else 25)
    EMAIL_HOST_USER = unquote(_parts.username or "")
    EMAIL_HOST_PASSWORD = unquote(_parts.password or "")
    EMAIL_USE_TLS = _parts.scheme == "smtp+tls"
    EMAIL_USE_SSL = _parts.scheme == "smtps"

# Anymail reads only Django settings, so every ANYMAIL_* environment variable
# (named as in Anymail's docs) is copied into the ANYMAIL dict.
ANYMAIL: dict[str, object] = {
    key.removeprefix("ANYMAIL_"): value for key, value in os.environ.items() if key.startswith("ANYMAIL_")
}
WEBHOOK_SECRET = env_str("WEBHOOK_SECRET")
if not WEBHOOK_SECRET:
    if not DEBUG:
        raise ImproperlyConfiguredEnv(
            "WEBHOOK_SECRET (user:password) must be set when DEBUG is off: "
            "without it anyone could post forged bounces to /anymail/"
        )
    # Anymail accepts unauthenticated webhooks when it has no secret: a forged
    # bounce would suppress a real supporter, even on a trial installation.
    WEBHOOK_SECRET = installation_secret(
        VAR_DIR / "webhook-secret.txt", generate=new_webhook_secret, variable="WEBHOOK_SECRET"
    )
ANYMAIL["WEBHOOK_SECRET"] = WEBHOOK_SECRET

# Where List-Unsubscribe's mailto: points; empty leaves the mailto out.
TOCSIN_UNSUBSCRIBE_MAILTO = env_str("TOCSIN_UNSUBSCRIBE_MAILTO")

# --- The organisation -----------------------------------------------------------
TOCSIN_ORG_NAME = env_str("TOCSIN_ORG_NAME", "Tocsin Demo Network")
TOCSIN_ORG_ADDRESS = env_str("TOCSIN_ORG_ADDRESS", "Casilla 1234, Av. Arequipa 100, Lima 15046, Peru")
# The organisation's name is the sender's name unless DEFAULT_FROM_EMAIL gives one.
DEFAULT_FROM_EMAIL = with_display_name(env_str("DEFAULT_FROM_EMAIL") or "bulletin@tocsin.example.org", TOCSIN_ORG_NAME)
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# On: a campaign must be approved by someone other than its author before it
# can be scheduled or sent, so one compromised or careless account cannot mail
# the whole list alone (campaigns/lifecycle.py).
TOCSIN_REQUIRE_APPROVAL = env_bool("TOCSIN_REQUIRE_APPROVAL", default=False)
# The name authenticator apps show next to staff accounts' codes.
OTP_TOTP_ISSUER = TOCSIN_ORG_NAME

# --- Delivery events ------------------------------------------------------------
# Soft bounces (mailbox full, greylisting, DNS trouble) suppress an address only
# after this many, on distinct messages, within the window.
TOCSIN_SOFT_BOUNCE_LIMIT = env_int("TOCSIN_SOFT_BOUNCE_LIMIT", 3)
TOCSIN_SOFT_BOUNCE_WINDOW_DAYS = env_int("TOCSIN_SOFT_BOUNCE_WINDOW_DAYS", 14)
# Bounces without a provider (campaigns/events/bounces/): with SMTP sending, each
# message's envelope sender is bounces+<signed delivery token>@TOCSIN_BOUNCE_DOMAIN
# (default: the From address's domain), whose mail should reach `manage.py
# ingest_bounce` (a pipe) or the mailbox `manage.py poll_bounces` reads
# (imaps://user:password@host/INBOX or pop3s://user:password@host), every
# TOCSIN_BOUNCE_POLL_SECONDS on beat when it is set.
TOCSIN_BOUNCE_DOMAIN = env_str("TOCSIN_BOUNCE_DOMAIN").strip().lower()
TOCSIN_BOUNCE_MAILBOX = env_str("TOCSIN_BOUNCE_MAILBOX")
TOCSIN_BOUNCE_POLL_SECONDS = env_float("TOCSIN_BOUNCE_POLL_SECONDS", 300.0)
# The delivery ledger: a finished campaign's rows older than this roll up into
# exact per-campaign counts and per-person engagement, then are deleted
# (campaigns/rollup/); 0 keeps every row for ever.
TOCSIN_LEDGER_RETENTION_DAYS = env_int("TOCSIN_LEDGER_RETENTION_DAYS", 180)

# --- Sign-up and abuse --------------------------------------------------------
TOCSIN_SIGNUP_RATE_LIMIT = env_bool("TOCSIN_SIGNUP_RATE_LIMIT", default=True)
TOCSIN_SIGNUP_PER_MINUTE = env_int("TOCSIN_SIGNUP_PER_MINUTE", 5)
TOCSIN_SIGNUP_PER_HOUR = env_int("TOCSIN_SIGNUP_PER_HOUR", 20)
# Only behind a proxy we run is X-Forwarded-For the client's address;
# elsewhere anyone can write that header.
TOCSIN_TRUSTED_PROXY_COUNT = env_int("TOCSIN_TRUSTED_PROXY_COUNT", 0)
TOCSIN_CONFIRMATION_EMAIL_INTERVAL = env_int("TOCSIN_CONFIRMATION_EMAIL_INTERVAL", 3600)
TOCSIN_CONFIRMATION_MAX_AGE_DAYS = env_int("TOCSIN_CONFIRMATION_MAX_AGE_DAYS", 7)
TOCSIN_PURGE_UNCONFIRMED_DAYS = env_int("TOCSIN_PURGE_UNCONFIRMED_DAYS", 30)
TURNSTILE_SITE_KEY = env_str("TURNSTILE_SITE_KEY")
TURNSTILE_SECRET_KEY = env_str("TURNSTILE_SECRET_KEY")
TURNSTILE_VERIFY_URL = env_str("TURNSTILE_VERIFY_URL", "https://challenges.cloudflare.com/turnstile/v0/siteverify")
TURNSTILE_TIMEOUT = env_float("TURNSTILE_TIMEOUT", 5.0)
# Origins (scheme://host[:port]) whose pages may post the embedded sign-up
# form; empty allows any site (still rate-limited, and double opt-in decides).
TOCSIN_EMBED_ALLOWED_ORIGINS = [origin.rstrip("/") for origin in env_list("TOCSIN_EMBED_ALLOWED_ORIGINS")]

# --- Donations (donations/) --------------------------------------------------------
# A gift carrying an appeal's code counts for that appeal only if it arrives
# within this many days after the appeal started sending.
TOCSIN_ATTRIBUTION_WINDOW_DAYS = env_int("TOCSIN_ATTRIBUTION_WINDOW_DAYS", 30)
# Stripe's signing secret for /donations/stripe/webhook/ (whsec_…); empty
# refuses every Stripe event, since an unsigned one could be forged.
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
# Tolerance (seconds) for the Stripe-Signature timestamp: older events are replays.
STRIPE_WEBHOOK_TOLERANCE = env_int("STRIPE_WEBHOOK_TOLERANCE", 300)
# The donate buttons' suggested amounts for people who never gave (donations/ask_ladder.py).
TOCSIN_DONATION_CURRENCY = env_str("TOCSIN_DONATION_CURRENCY", "USD").upper()
TOCSIN_DEFAULT_ASK_LADDER = env_list("TOCSIN_DEFAULT_ASK_LADDER", ["25", "50", "100"])

# --- Celery ---------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Unacknowledged (acks_late) tasks come back after this long even while still
# running: send batches last seconds, so an hour is far out of reach.
#
# max_retries 0: a publish finds the broker down at once (the outbox and the
# sweeper hand the work over later) instead of kombu retrying the connection
# for ~6 s inside a web request. Workers and beat reconnect with their own
# broker_connection_* settings, which this does not touch.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600), "max_retries": 0}
# Beat's outbox relay hands the broker the emails written while it was down
# (outbox/relay.py); rows handed over are kept this many days, then deleted.
TOCSIN_OUTBOX_RELAY_SECONDS = env_float("TOCSIN_OUTBOX_RELAY_SECONDS", 5.0)
TOCSIN_OUTBOX_KEEP_DAYS = env_int("TOCSIN_OUTBOX_KEEP_DAYS", 7)

# --- Outgoing webhooks (integrations/) ----------------------------------------------
# Private, loopback and reserved addresses are refused (SSRF) unless this is on:
# a CRM on the same network, or the test suite. It also allows plain http.
TOCSIN_WEBHOOK_ALLOW_PRIVATE = env_bool("TOCSIN_WEBHOOK_ALLOW_PRIVATE", default=False)
# Seconds to connect, and to wait for the answer, per attempt.
TOCSIN_WEBHOOK_TIMEOUT = env_float("TOCSIN_WEBHOOK_TIMEOUT", 5.0)
# Back-off after a failed attempt: base * 2^(n-1) seconds (with jitter), capped.
TOCSIN_WEBHOOK_RETRY_BASE = env_float("TOCSIN_WEBHOOK_RETRY_BASE", 30.0)
TOCSIN_WEBHOOK_RETRY_MAX = env_float("TOCSIN_WEBHOOK_RETRY_MAX", 3600.0)
# A delivery is failed after this many hours of retries; an endpoint whose
# attempts all fail for as long is disabled and staff are emailed.
TOCSIN_WEBHOOK_GIVE_UP_HOURS = env_float("TOCSIN_WEBHOOK_GIVE_UP_HOURS", 24.0)
# After "rotate secret", hours during which deliveries carry a signature with the old secret too.
TOCSIN_WEBHOOK_SECRET_GRACE_HOURS = env_float("TOCSIN_WEBHOOK_SECRET_GRACE_HOURS", 24.0)
# How often beat queues due retries (and deliveries the broker lost).
TOCSIN_WEBHOOK_SWEEP_SECONDS = env_float("TOCSIN_WEBHOOK_SWEEP_SECONDS", 10.0)
# Days delivered and failed deliveries are kept for staff to read (beat deletes older ones hourly).
TOCSIN_WEBHOOK_KEEP_DAYS = env_int("TOCSIN_WEBHOOK_KEEP_DAYS", 30)

# --- Sending engine (campaigns/sending/batching.py, sending.py, throttle.py) ---------------
# Messages per second across every worker; 0 = unlimited. SMTP defaults to
# unlimited; providers to what a fresh account may send (the operator raises it).
_ESP_DEFAULT_RATES = {"amazon_ses": 14.0}
TOCSIN_SEND_RATE = env_float("TOCSIN_SEND_RATE", _ESP_DEFAULT_RATES.get(ESP, 0.0))
TOCSIN_SEND_BURST = env_float("TOCSIN_SEND_BURST", 0.0)  # 0: one second's worth of the rate
TOCSIN_SEND_BATCH_SIZE = env_int("TOCSIN_SEND_BATCH_SIZE", 200)
# Batches of one campaign in the queue or running at once; the rest wait in the
# database, so pause/cancel/alerts never sit behind thousands of queued tasks.
TOCSIN_SEND_WINDOW = env_int("TOCSIN_SEND_WINDOW", 8)
# Concurrent connections per batch: HTTP providers answer in 50-300 ms, so
# many calls must be in flight; one SMTP connection is CPU-bound already.
TOCSIN_SEND_THREADS = env_int("TOCSIN_SEND_THREADS", 32 if ESP else 1)
# Providers with a batch API (Postmark's /email/batch, up to 500): messages per
# HTTP call (campaigns/sending/transports/postmark.py); 1 sends one message per call instead.
TOCSIN_SEND_ESP_BATCH = env_int("TOCSIN_SEND_ESP_BATCH", 100)
TOCSIN_SEND_LEASE_SECONDS = env_int("TOCSIN_SEND_LEASE_SECONDS", 60)
TOCSIN_SEND_QUEUE_LEASE_SECONDS = env_int("TOCSIN_SEND_QUEUE_LEASE_SECONDS", 600)
# A delivery still "sending" after this long belongs to a dead worker: unknown.
TOCSIN_SEND_CLAIM_TIMEOUT = env_int("TOCSIN_SEND_CLAIM_TIMEOUT", max(2 * EMAIL_TIMEOUT, 90))
TOCSIN_SEND_MAX_FAILURES = env_int("TOCSIN_SEND_MAX_FAILURES", 5)
# Letters to decision-makers (actions/sending/): at most this many emails a day to one
# target across every action (a digest is one email; test letters to staff never count),
# in TIME_ZONE's day; the rest wait for the next day. Unset: no overall cap (each
# action's own daily cap still holds).
TOCSIN_LETTERS_PER_TARGET_PER_DAY = env_count("TOCSIN_LETTERS_PER_TARGET_PER_DAY")
TOCSIN_SEND_RETRY_BASE = env_float("TOCSIN_SEND_RETRY_BASE", 5.0)
TOCSIN_SEND_RETRY_MAX = env_float("TOCSIN_SEND_RETRY_MAX", 300.0)
TOCSIN_SEND_SWEEP_SECONDS = env_float("TOCSIN_SEND_SWEEP_SECONDS", 15.0)
TOCSIN_SEND_STATS = env_bool("TOCSIN_SEND_STATS", default=False)
# Journeys (journeys/engine.py): beat looks for due steps every N seconds and
# runs them in batches of this many people, each batch one transaction, for at
# most TOCSIN_JOURNEY_RUN_SECONDS per task.
TOCSIN_JOURNEY_SECONDS = env_float("TOCSIN_JOURNEY_SECONDS", 10.0)
TOCSIN_JOURNEY_BATCH = env_int("TOCSIN_JOURNEY_BATCH", 2000)
TOCSIN_JOURNEY_RUN_SECONDS = env_float("TOCSIN_JOURNEY_RUN_SECONDS", 30.0)
# Off (the default): per-message ledger commits skip the WAL flush on Postgres;
# safe against killed workers, a crashed Postgres may forget the last ~0.6 s
# (campaigns/sending/ledger.py explains). On: every claim waits for the disk.
TOCSIN_SEND_SYNC_COMMIT = env_bool("TOCSIN_SEND_SYNC_COMMIT", default=False)

# --- Frequency cap and A/B tests ------------------------------------------------
# At most COUNT emails per person in a window ("2/7d", "1/24h"; unset: no cap),
# counted from the delivery ledger: bulletins and appeals leave out whoever
# already got that many (campaigns/sending/frequency.py). Kinds in the exempt
# list are never held back (alerts by default); "journey" names journey emails.
TOCSIN_FREQUENCY_CAP = env_cap("TOCSIN_FREQUENCY_CAP")
TOCSIN_FREQUENCY_CAP_EXEMPT = env_list("TOCSIN_FREQUENCY_CAP_EXEMPT", ["alert"])
_CAPPABLE = {"bulletin", "alert", "appeal", "journey"}
if set(TOCSIN_FREQUENCY_CAP_EXEMPT) - _CAPPABLE:
    raise ImproperlyConfiguredEnv(
        f"TOCSIN_FREQUENCY_CAP_EXEMPT names {sorted(set(TOCSIN_FREQUENCY_CAP_EXEMPT) - _CAPPABLE)}: "
        f"use any of {sorted(_CAPPABLE)}, comma-separated"
    )
# An A/B test's circuit breaker (campaigns/sending/ab_test.py): the campaign pauses
# before the rest of the list gets it when, in the sample, a variant or the whole
# sample passes either rate (in percent of the emails sent), judged once that
# many emails were sent (a variant sent to fewer is judged with the sample as a whole).
TOCSIN_BREAKER_UNSUBSCRIBE_PERCENT = env_float("TOCSIN_BREAKER_UNSUBSCRIBE_PERCENT", 2.0)
TOCSIN_BREAKER_COMPLAINT_PERCENT = env_float("TOCSIN_BREAKER_COMPLAINT_PERCENT", 0.3)
TOCSIN_BREAKER_MIN_SAMPLE = env_int("TOCSIN_BREAKER_MIN_SAMPLE", 100)

# --- Security (the production settings `check --deploy` looks at) ---------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env_bool("TOCSIN_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp; config/csp.py chooses the policy per page).
# Public pages: no inline script or style at all, images from anywhere over
# https (articles show photos hosted elsewhere), forms posted to this site only.
_SITE_ORIGIN = f"{_site.scheme}://{_site.netloc}"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "https:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "form-action": [SELF, _SITE_ORIGIN],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
    },
}
# The admin: scripts from our static files only; inline styles, since the
# campaign preview frame shows an email (all style="" attributes) under this policy.
TOCSIN_ADMIN_CSP = {
    "default-src": [SELF],
    "script-src": [SELF],
    "style-src": [SELF, UNSAFE_INLINE],
    "img-src": [SELF, "data:", "https:"],
    "object-src": [NONE],
    "form-action": [SELF, _SITE_ORIGIN],
    "frame-ancestors": [NONE],
    "base-uri": [NONE],
}
# The debug page `make run` shows (DEBUG on) stars the passwords inside
# DATABASE_URL, REDIS_URL, EMAIL_URL… as well as the settings Django hides by name.
DEFAULT_EXCEPTION_REPORTER = "config.error_reports.RedactingExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.error_reports.RedactingExceptionReporterFilter"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Plain log lines, or one JSON object per line (LOG_FORMAT=json); error reports
# to Sentry when SENTRY_DSN is set, nothing otherwise (config/observability.py).
LOG_FORMAT = observability.log_format(env_str("LOG_FORMAT", "plain"))
LOGGING = observability.logging_config(log_format=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO"))
SENTRY_ENABLED = observability.init_sentry(
    dsn=env_str("SENTRY_DSN"), environment=env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
)
# Bearer token Prometheus sends to GET /metrics (config/metrics.py); empty: no metrics endpoint (404).
TOCSIN_METRICS_TOKEN = env_str("TOCSIN_METRICS_TOKEN")
