"""The fast signer used per recipient must sign exactly what Django's Signer signs."""

from __future__ import annotations

from django.core import signing

from subscribers import tokens


def test_fast_signer_tokens_are_byte_identical_to_djangos():
    for salt in ("tocsin.unsubscribe", "tocsin.preferences", "tocsin.tracking.click"):
        assert tokens.fast_signer(salt).sign("12345") == signing.Signer(salt=salt).sign("12345")


def test_fast_signer_json_matches_sign_object():
    value = [42, "https://example.org/act?x=1&y=ñ"]
    serialized = '[42,"https://example.org/act?x=1&y=\\u00f1"]'
    salt = "tocsin.tracking.click"
    assert tokens.fast_signer(salt).sign_json(serialized) == signing.Signer(salt=salt).sign_object(value)


def test_a_new_secret_key_gives_new_signatures(settings):
    before = tokens.fast_signer("tocsin.unsubscribe").sign("7")
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789abcdef"
    after = tokens.fast_signer("tocsin.unsubscribe").sign("7")
    assert before != after
    assert after == signing.Signer(salt="tocsin.unsubscribe").sign("7")
