"""actions.services.sign: once per address, letters to the right targets, consent as at sign-up."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from actions import services
from actions.models import Action, Letter, Signature
from actions.services import signing
from subscribers.models import Consent, MailingList, Subscriber, Subscription
from tests.support.factories import group, letter, petition, riding_map, target

pytestmark = pytest.mark.django_db


def sign(action: Action, **fields):  # type: ignore[no-untyped-def]
    values = {"email": "lucia@example.org", "name": "Lucía Quispe", "postal_code": "K1A 0B1", **fields}
    return services.sign(action=action, **values)


# --- petitions ------------------------------------------------------------------------------


def test_a_signature_is_stored_with_the_normalised_postal_code_and_counted():
    action = petition()
    result = sign(action, email=" Lucia@Example.ORG ", postal_code="k1a0b1", message="No mine without consent.")

    assert result.created
    signature = Signature.objects.get()
    assert (signature.email, signature.postal_code, signature.message) == (
        "lucia@example.org",
        "K1A 0B1",
        "No mine without consent.",
    )
    assert services.signature_count(action) == 1


def test_a_repeat_by_the_same_address_changes_nothing():
    action = petition()
    first = sign(action, message="First words.")
    again = sign(action, email="LUCIA@example.org", name="Someone Else", message="Other words.")

    assert not again.created
    assert again.signature.pk == first.signature.pk
    signature = Signature.objects.get()
    assert (signature.name, signature.message) == ("Lucía Quispe", "First words.")


def test_the_postal_code_is_optional_on_a_petition_and_an_unknown_one_is_not_asked_about():
    riding_map()
    action = petition()
    sign(action, email="a@example.org", postal_code="")
    sign(action, email="b@example.org", postal_code="V6B 1A1")  # no district known there
    sign(action, email="c@example.org", postal_code="K2B 1A1")  # two districts: a petition does not ask
    assert list(Signature.objects.order_by("email").values_list("postal_code", "district")) == [
        ("", None),
        ("V6B 1A1", None),
        ("K2B 1A1", None),
    ]


def test_a_malformed_postal_code_is_refused_and_nothing_is_stored():
    with pytest.raises(services.InvalidSignature) as refused:
        sign(petition(), postal_code="90210")
    assert "postal_code" in refused.value.errors
    assert not Signature.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "lucia@example.org\r\nBcc: victim@example.org"),
        ("email", "not an address"),
        ("name", "Visit https://spam.example now"),
        ("name", "Ana\u202eTROHS"),
        ("name", "   "),
        ("message", "hello\x00world"),
        ("message", "x" * (services.COMMENT_LIMIT + 1)),
    ],
)
def test_hostile_or_oversized_input_is_a_field_error(field, value):
    with pytest.raises(services.InvalidSignature) as refused:
        sign(petition(), **{field: value})
    assert field in refused.value.errors
    assert not Signature.objects.exists()


def test_draft_and_closed_actions_take_no_signature():
    for status in (Action.Status.DRAFT, Action.Status.CLOSED):
        action = petition(slug=f"p-{status}", status=status)
        with pytest.raises(services.ActionNotOpen):
            sign(action)
    assert not Signature.objects.exists()


def test_a_double_submission_racing_past_the_check_still_signs_once():
    action = petition()
    real_district = signing.supporter_district

    def the_other_click_lands_first(**kwargs):  # type: ignore[no-untyped-def]
        Signature.objects.create(action=action, email="lucia@example.org", name="Lucía Quispe")
        return real_district(**kwargs)

    with mock.patch.object(signing, "supporter_district", side_effect=the_other_click_lands_first):
        result = sign(action)

    assert not result.created
    assert Signature.objects.count() == 1


# --- letters --------------------------------------------------------------------------------


def test_a_letter_by_district_goes_to_the_supporters_own_mp_and_the_fixed_targets():
    ridings = riding_map()
    minister = target("Dana Whitfield", "minister@gov.example", groups=("ministers",), title="Minister")
    action = letter(fixed=[minister])

    result = sign(action, postal_code="K1A 0B1", message="I live near the river.")

    assert {letter.target for letter in result.letters} == {ridings["mp_north"], minister}
    assert set(Letter.objects.values_list("status", flat=True)) == {Letter.Status.PENDING}
    signature = result.signature
    assert signature.district == ridings["north"]
    # The letter is frozen as signed: editing the action later changes no letter already written.
    assert signature.letter_subject == action.letter_subject
    assert signature.letter_body == action.letter_body
    assert signature.message == "I live near the river."


def test_a_repeat_writes_no_second_letter():
    riding_map()
    action = letter()
    sign(action)
    again = sign(action, postal_code="K2B 9Z9")
    assert not again.created and again.letters == []
    assert Letter.objects.count() == 1


def test_the_ledger_refuses_a_second_letter_to_the_same_target():
    riding_map()
    first = sign(letter()).letters[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        Letter.objects.create(action=first.action, signature=first.signature, target=first.target)


def test_a_target_not_to_be_emailed_gets_the_letter_by_hand_and_a_former_one_none():
    ridings = riding_map()
    ridings["mp_north"].do_not_email = True
    ridings["mp_north"].save()
    gone = target("Old Member", "old@parl.example", in_district=ridings["north"], active=False)
    result = sign(letter())
    assert [(item.target, item.status) for item in result.letters] == [(ridings["mp_north"], Letter.Status.BY_HAND)]
    assert not Letter.objects.filter(target=gone).exists()


def test_an_ambiguous_postal_code_stores_nothing_until_a_district_is_chosen():
    ridings = riding_map()
    action = letter()
    with pytest.raises(services.DistrictChoiceNeeded) as asked:
        sign(action, postal_code="K2B 1A1")
    assert asked.value.choices == [ridings["east"], ridings["west"]]
    assert not Signature.objects.exists() and not Letter.objects.exists()

    result = sign(action, postal_code="K2B 1A1", district_code="90003")
    assert result.signature.district == ridings["west"]
    assert [item.target for item in result.letters] == [ridings["mp_west"]]


def test_a_district_that_was_not_offered_is_refused():
    riding_map()
    with pytest.raises(services.InvalidSignature) as refused:
        sign(letter(), postal_code="K2B 1A1", district_code="90001")
    assert "district" in refused.value.errors
    assert not Signature.objects.exists()


def test_an_unknown_postal_code_asks_among_the_districts_nearby():
    ridings = riding_map()
    with pytest.raises(services.DistrictChoiceNeeded) as asked:
        sign(letter(), postal_code="K2C 3P4")
    assert set(asked.value.choices) == {ridings["north"], ridings["east"], ridings["west"]}


def test_a_letter_needs_a_postal_code():
    riding_map()
    with pytest.raises(services.InvalidSignature) as refused:
        sign(letter(), postal_code="")
    assert "postal_code" in refused.value.errors


def test_a_letter_sent_as_written_takes_no_personal_message():
    riding_map()
    with pytest.raises(services.InvalidSignature) as refused:
        sign(letter(edit_policy=Action.EditPolicy.FIXED), message="My own words")
    assert "message" in refused.value.errors


def test_the_personal_paragraph_has_the_length_limit_staff_set():
    riding_map()
    action = letter(edit_limit=50)
    with pytest.raises(services.InvalidSignature) as refused:
        sign(action, message="x" * 51)
    assert "message" in refused.value.errors
    assert sign(action, message="x" * 50).created


def test_only_a_fully_editable_letter_can_be_rewritten():
    riding_map()
    with pytest.raises(services.InvalidSignature) as refused:
        sign(letter(slug="fixed-text"), letter_body="Something else entirely.")
    assert "letter_body" in refused.value.errors

    editable = letter(slug="editable", edit_policy=Action.EditPolicy.FULL, edit_limit=200)
    result = sign(editable, letter_subject="My subject", letter_body="My own letter.")
    assert (result.signature.letter_subject, result.signature.letter_body) == ("My subject", "My own letter.")
    with pytest.raises(services.InvalidSignature) as too_long:
        sign(editable, email="b@example.org", letter_body="y" * 201)
    assert "letter_body" in too_long.value.errors
    with pytest.raises(services.InvalidSignature) as injected:
        sign(editable, email="c@example.org", letter_subject="Hi\r\nBcc: x@example.org")
    assert "letter_subject" in injected.value.errors


# --- opting in to lists -------------------------------------------------------------------------


@pytest.fixture
def canada(db):  # type: ignore[no-untyped-def]
    return MailingList.objects.create(slug="canada-policy", name="Canada policy")


def test_ticking_a_list_is_a_sign_up_with_double_opt_in_and_full_consent_evidence(
    canada, django_capture_on_commit_callbacks
):
    action = petition()
    action.lists.set([canada])
    with django_capture_on_commit_callbacks(execute=True):
        result = sign(
            action,
            opt_in_lists=["canada-policy"],
            page_url="https://tocsin.example/act/stop-the-mine/",
            ip="203.0.113.9",
            user_agent="Firefox",
            language="es",
        )

    subscriber = Subscriber.objects.get(email="lucia@example.org")
    assert subscriber.status == Subscriber.Status.PENDING
    consent = Consent.objects.get(subscriber=subscriber)
    assert consent.action == Consent.Action.SIGNUP
    assert consent.lists == ["canada-policy"]
    assert consent.ip_address == "203.0.113.9"
    assert consent.page_url == "https://tocsin.example/act/stop-the-mine/"
    assert consent.user_agent == "Firefox"
    assert consent.language == "es" and consent.wording
    assert consent.detail == "action: stop-the-mine"
    assert result.signature.consent == consent and result.signature.subscriber == subscriber
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["lucia@example.org"]
    # Nothing is active until the person clicks.
    assert not Subscription.objects.filter(status=Subscription.Status.ACTIVE).exists()


def test_signing_without_ticking_a_box_subscribes_nobody(canada):
    action = petition()
    action.lists.set([canada])
    sign(action)
    assert not Subscriber.objects.exists()
    assert not mail.outbox


def test_a_confirmed_subscriber_already_on_the_list_is_linked_and_not_asked_again(canada):
    person = Subscriber.objects.create(email="lucia@example.org", status=Subscriber.Status.CONFIRMED)
    Subscription.objects.create(subscriber=person, mailing_list=canada)
    action = petition()
    action.lists.set([canada])

    result = sign(action, opt_in_lists=["canada-policy"])

    assert result.signature.subscriber == person
    assert result.opt_in is None
    assert not Consent.objects.exists()
    assert not mail.outbox


def test_only_the_lists_offered_on_the_action_can_be_joined(canada):
    MailingList.objects.create(slug="donors", name="Major donors", public=False)
    action = petition()
    action.lists.set([canada])
    with pytest.raises(services.InvalidSignature) as refused:
        sign(action, opt_in_lists=["donors"])
    assert "opt_in_lists" in refused.value.errors
    assert not Subscriber.objects.exists()


def test_a_repeat_still_honours_a_box_ticked_this_time(canada, django_capture_on_commit_callbacks):
    action = petition()
    action.lists.set([canada])
    sign(action)
    with django_capture_on_commit_callbacks(execute=True):
        again = sign(action, opt_in_lists=["canada-policy"])
    assert not again.created
    assert again.opt_in is not None and again.opt_in.outcome == "pending"
    assert Signature.objects.count() == 1
    assert len(mail.outbox) == 1


# --- status and counts ------------------------------------------------------------------------


def test_an_action_opens_closes_and_reopens_but_never_goes_back_to_draft():
    action = petition(status=Action.Status.DRAFT)
    services.change_status(action=action, to=Action.Status.OPEN)
    assert action.opened_at is not None
    services.change_status(action=action, to=Action.Status.CLOSED)
    assert action.closed_at is not None
    services.change_status(action=action, to=Action.Status.OPEN)
    with pytest.raises(services.TransitionNotAllowed):
        services.change_status(action=action, to=Action.Status.DRAFT)
    assert Action.objects.get().status == Action.Status.OPEN


def test_letter_counts_by_status():
    riding_map()
    action = letter()
    sign(action, email="a@example.org")
    sign(action, email="b@example.org")
    Letter.objects.filter(signature__email="a@example.org").update(status=Letter.Status.SENT)
    assert services.letter_counts(action) == {"sent": 1, "failed": 0, "pending": 1, "unknown": 0, "by_hand": 0}


def test_a_letter_to_a_whole_group_goes_to_every_active_member_wherever_the_supporter_lives():
    ridings = riding_map()
    minister = target("Dana Whitfield", "minister@gov.example", groups=("ministers",))
    target("Former Minister", "former@gov.example", groups=("ministers",), active=False)
    action = letter(slug="to-the-cabinet", target_group=group("ministers"), by_district=False)
    result = sign(action, postal_code="V6B 1A1")  # no district known: not needed here
    assert [item.target for item in result.letters] == [minister]
    assert result.signature.district is None
    assert ridings["mp_north"] not in {item.target for item in result.letters}


def test_by_district_without_a_group_writes_to_everyone_of_that_district():
    ridings = riding_map()
    senator = target("Sen. Ivy Long", "ivy.long@sen.example", in_district=ridings["north"], groups=("senators",))
    action = letter(slug="everyone-here", target_group=None, by_district=True)
    result = sign(action, postal_code="K1A 0B1")
    assert {item.target for item in result.letters} == {ridings["mp_north"], senator}
