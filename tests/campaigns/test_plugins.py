"""The send pipeline's registry: what apps above campaigns add to a send without campaigns importing them."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import pytest

from campaigns.models import Campaign, Delivery
from campaigns.sending import audience, plugins
from campaigns.sending.rendering import CampaignRenderer
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.personas import sender, verified

pytestmark = pytest.mark.django_db

ODD_ONLY = "tests.odd_only"
STARS = "stars"


def odd_ids_only(campaign: Campaign, *, alias: str) -> tuple[str, list[Any]]:
    return f" AND MOD({alias}.id, %s) = %s", [2, 1]


def star_values(campaign: Campaign, subscriber_ids: Sequence[int]) -> dict[int, Hashable]:
    star_values.calls.append(list(subscriber_ids))  # type: ignore[attr-defined]
    return {pk: pk % 3 + 1 for pk in subscriber_ids}


star_values.calls = []  # type: ignore[attr-defined]


def render_stars(value: Hashable, source: plugins.BlockSource) -> tuple[str, str]:
    assert isinstance(value, int)
    link = f"https://stars.example.org/?n={value}&lang={source.language}"
    return f'<p class="stars"><a href="{link}">{"*" * value} stars</a></p>', f"{'*' * value} stars: {link}"


STARS_BLOCK = plugins.RecipientBlock(
    name=STARS,
    applies=lambda campaign: campaign.kind == Campaign.Kind.ALERT,
    values_for=star_values,
    default=lambda campaign: 5,
    render=render_stars,
)


@pytest.fixture
def odd_only() -> Iterator[None]:
    plugins.register_audience_filter(ODD_ONLY, odd_ids_only)
    yield
    plugins.unregister(ODD_ONLY)


@pytest.fixture
def stars(settings, tmp_path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    # The alert templates have no {{ blocks.stars }}: test templates that place it, found first.
    folder = tmp_path / "emails" / "campaign"
    folder.mkdir(parents=True)
    for extension in ("html", "txt"):
        (folder / f"alert.{extension}").write_text(
            f'{{% extends "emails/campaign/base.{extension}" %}}{{% block content %}}{{{{ blocks.stars }}}}'
            "{% endblock %}"
        )
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [str(tmp_path), *engine["DIRS"]]}, *settings.TEMPLATES[1:]]
    star_values.calls.clear()  # type: ignore[attr-defined]
    plugins.register_block(STARS_BLOCK)
    yield
    plugins.unregister(STARS)


def test_an_audience_filter_narrows_the_count_and_the_snapshot_alike(odd_only):
    people = make_people(10, make_list())
    campaign = make_campaign([make_list()])
    odd = sorted(p.pk for p in people if p.pk % 2 == 1)
    assert audience.count_audience(campaign) == len(odd)
    assert audience.snapshot(campaign) == len(odd)
    assert sorted(Delivery.objects.filter(campaign=campaign).values_list("subscriber_id", flat=True)) == odd


def test_count_left_out_says_what_one_filter_alone_removes(odd_only):
    people = make_people(9, make_list())
    campaign = make_campaign([make_list()])
    even = [p for p in people if p.pk % 2 == 0]
    assert audience.count_left_out(campaign, ODD_ONLY) == len(even)
    assert audience.count_left_out(campaign, "no.such.filter") == 0


def test_registering_the_same_name_twice_replaces_it(odd_only):
    plugins.register_audience_filter(ODD_ONLY, odd_ids_only)
    assert [name for name, _f in plugins.audience_filters()].count(ODD_ONLY) == 1


def test_without_the_filter_everyone_is_counted():
    make_people(4, make_list())
    assert audience.count_audience(make_campaign([make_list()])) == 4


def test_a_block_name_must_be_a_template_variable():
    with pytest.raises(ValueError, match="template variable"):
        plugins.register_block(plugins.RecipientBlock("ask-ladder", bool, star_values, bool, render_stars))


def test_donations_registered_its_filter_block_and_note_from_its_app_config():
    assert "donations.donor_rules" in dict(plugins.audience_filters())
    assert "ask_ladder" in [block.name for block in plugins.blocks()]


@pytest.mark.usefixtures("stars")
def test_a_block_is_rendered_per_recipient_with_values_fetched_once_per_chunk():
    people = make_people(3, make_list())
    bulletin = make_campaign([make_list()], kind=Campaign.Kind.BULLETIN)
    assert CampaignRenderer(bulletin).block_values_for([p.pk for p in people]) == {}  # applies() said no
    renderer = CampaignRenderer(make_campaign([make_list()], kind=Campaign.Kind.ALERT))
    values = renderer.block_values_for([p.pk for p in people])
    assert star_values.calls == [[p.pk for p in people]]  # type: ignore[attr-defined]
    for person in people:
        message = renderer.render(subscriber=person, delivery_id=person.pk, block_values=values[person.pk])
        count = person.pk % 3 + 1
        assert f"{'*' * count} stars: https://stars.example.org/?n={count}&lang=en" in message.body
        html_part = str(message.alternatives[0][0])
        assert f"{'*' * count} stars</a>" in html_part
        assert f"https://stars.example.org/?n={count}" not in html_part  # tracked, like the email's own links
    assert len(star_values.calls) == 1  # type: ignore[attr-defined]


@pytest.mark.usefixtures("stars")
def test_the_web_version_shows_the_block_default_not_a_reader_value():
    make_people(1, make_list())
    html_part = CampaignRenderer(make_campaign([make_list()], kind=Campaign.Kind.ALERT)).web_html()
    assert "***** stars</a>" in html_part
    assert 'href="https://stars.example.org/?n=5&amp;lang=en"' in html_part
    assert star_values.calls == []  # type: ignore[attr-defined]


def test_the_send_page_shows_each_registered_audience_note(client):
    verified(client, sender())
    campaign = make_campaign([make_list()])
    make_people(2, make_list())
    plugins.register_audience_note("tests.note", lambda c: f"Note about campaign {c.pk}.")
    plugins.register_audience_note("tests.silent", lambda c: None)
    try:
        page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/send/").content.decode()
    finally:
        plugins.unregister("tests.note")
        plugins.unregister("tests.silent")
    assert f"Note about campaign {campaign.pk}." in page
