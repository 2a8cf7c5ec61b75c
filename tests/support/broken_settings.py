"""Tocsin's settings with ``tests.support.broken_site`` as the URLs, for a web process of a test's own."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.support.broken_site"
