"""The SVG charts' legends: every label readable, in the longer words of Spanish and French."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from campaigns.reports.charts import Series, bar_chart, line_chart
from tests.support.personas import staff, verified
from tests.support.reports import build_sent_campaign

FONT_SIZE = 11
LEGEND_ITEM = re.compile(
    r'<rect x="([\d.]+)" y="([\d.]+)" width="10" height="10" fill="[^"]+"/>'
    r'<text x="([\d.]+)" y="([\d.]+)" fill="#1a202c">([^<]*)</text>'
)
# The campaign report's legend in Spanish and French, and longer labels still.
LONG_LABELS = {
    "es": ["Aperturas (aprox.)", "Clics", "Rebotes permanentes", "Quejas"],
    "fr": ["Ouvertures (approx.)", "Clics", "Rebonds définitifs", "Plaintes"],
    "many": [
        "Rebotes permanentes",
        "Aperturas (aprox.)",
        "Quejas por correo no deseado",
        "Inscripciones",
        "Confirmaciones",
        "Bajas de la lista",
        "Rebonds définitifs",
    ],
}


def at_least_as_wide_as(label: str) -> float:
    """A generous guess at the label's width in any common sans-serif, measured by no code of the chart's."""
    ems = 0.0
    for char in label:
        if char in "mwMW":
            ems += 1.0
        elif char.isupper():
            ems += 0.8
        elif char in " ()[].,:;'!|iljtfrI":
            ems += 0.45
        else:
            ems += 0.64
    return ems * FONT_SIZE


def legend(svg: str) -> list[tuple[float, float, float, str]]:
    """(left, right, baseline, label) of each legend item: its colour swatch to the end of its words."""
    items = []
    for rect_x, _rect_y, text_x, text_y, label in LEGEND_ITEM.findall(svg):
        items.append((float(rect_x), float(text_x) + at_least_as_wide_as(label), float(text_y), label))
    return items


def view_box(svg: str) -> tuple[float, float]:
    width, height = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups()
    return float(width), float(height)


def assert_readable(svg: str, labels: list[str]) -> None:
    items = legend(svg)
    assert [label for *_place, label in items] == labels
    width, height = view_box(svg)
    for _left, right, baseline, label in items:
        assert right <= width, f"{label!r} runs off the chart"
        assert baseline <= height, f"{label!r} is below the chart"
    for index, (left, right, baseline, label) in enumerate(items):
        for other_left, other_right, other_baseline, other in items[index + 1 :]:
            same_line = abs(baseline - other_baseline) < FONT_SIZE + 2
            assert not (same_line and left < other_right and other_left < right), f"{label!r} overlaps {other!r}"


@pytest.mark.parametrize("labels", LONG_LABELS.values(), ids=LONG_LABELS.keys())
@pytest.mark.parametrize("chart", [line_chart, bar_chart])
def test_legend_labels_never_overlap_however_long_they_are(chart, labels):
    svg = chart([Series(label, [1, 3, 2]) for label in labels], title="Chart")

    assert_readable(svg, labels)


def test_a_legend_too_long_for_one_line_wraps_below_the_plot():
    labels = LONG_LABELS["many"]
    svg = line_chart([Series(label, [1, 3, 2]) for label in labels], title="Chart")

    baselines = sorted({baseline for *_place, baseline, _label in legend(svg)})
    assert len(baselines) == 2
    # The plot keeps its height: the chart grows by the extra line of the legend.
    assert view_box(svg)[1] > view_box(line_chart([Series("One", [1])], title="Chart"))[1]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_the_campaign_report_legend_is_readable_in_each_language(client, settings, language):
    with time_machine.travel(datetime(2026, 2, 20, 12, tzinfo=ZoneInfo(settings.TIME_ZONE)), tick=False):
        campaign = build_sent_campaign()
        verified(client, staff("sara", "sender"))
        page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/report/", headers={"accept-language": language})
    html = page.content.decode()
    start = html.index('<svg xmlns="http://www.w3.org/2000/svg"')
    svg = html[start : html.index("</svg>", start)]

    labels = [label for *_place, label in legend(svg)]
    assert len(labels) == 4
    assert_readable(svg, labels)
