"""A very small server-side SVG chart renderer: no JavaScript, no CDN, no Node.

Two shapes are enough for the admin: a line chart (events per hour over a
campaign's first 72 hours) and a grouped bar chart (list growth per week).
Every label is escaped; the output is safe to mark_safe in a template. The
legend is laid out by each label's width (Spanish and French words are
longer than English ones), wrapping to another line below the plot.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import pgettext

PALETTE = ["#2b6cb0", "#2f855a", "#d69e2e", "#c53030", "#6b46c1", "#718096"]


@dataclass
class Series:
    label: str
    values: Sequence[int | float]
    color: str = ""


_GRID = 5
_LEFT, _RIGHT = 44, 10  # the plot's margins: the axis' numbers on the left

# Advance widths of DejaVu Sans, in thousandths of an em, for " " to "~": the widest of
# the common sans-serif fonts (Linux's default; Arial, Helvetica and Liberation are
# narrower), so a legend spaced by them never overlaps whichever one the browser picks.
_WIDTHS = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337,
    636, 636, 636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531,
    1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787,
    603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500,
    500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612,
    635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
)  # fmt: skip
_FONT_SIZE = 11
_SWATCH = 14  # the colour square and the space after it
_LEGEND_GAP = 20
_LEGEND_LINE = 16


def axis_date(day: date) -> str:
    """A day on an axis in the reader's language: "Dec 8", "8 dic", "8 déc"."""
    # Django's date letters, so each language sets the order and the month's case (lower in es and fr).
    return formats.date_format(day, pgettext("a day on a chart's axis, in Django's date format letters", "M j"))


def axis_hour(moment: datetime) -> str:
    """An hour on an axis in the reader's language: "Wed 12:00", "mié 12:00", "mer 12:00"."""
    return formats.date_format(moment, "D H:i")


def _nice_max(value: float) -> float:
    """The top of the axis: five grid steps of 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return _GRID
    raw_step = value / _GRID
    magnitude = 10 ** (len(str(int(raw_step))) - 1) if raw_step >= 1 else 1
    for step in (1, 2, 5, 10):
        if raw_step <= step * magnitude:
            return step * magnitude * _GRID
    return 10 * magnitude * _GRID  # pragma: no cover


@dataclass
class _Plot:
    """A chart being drawn: its SVG so far, where the plot area is, and where the legend goes."""

    parts: list[str]
    left: float
    top_pad: float
    plot_w: float
    plot_h: float
    slots: int
    top: float
    legend: list[tuple[float, int]]
    legend_y: float

    def x(self, slot: float) -> float:
        return self.left + self.plot_w * slot / max(self.slots, 1)

    def y(self, value: float) -> float:
        return self.top_pad + self.plot_h - self.plot_h * value / self.top


def _frame(
    series: Sequence[Series], *, width: int, height: int, title: str, x_labels: Sequence[tuple[int, str]]
) -> _Plot:
    slots = max((len(s.values) for s in series), default=0)
    top = _nice_max(max((max(s.values, default=0) for s in series), default=0))
    legend = _legend_places(series, left=_LEFT, right=width - _RIGHT)
    bottom_pad, top_pad, left = 28, 12, _LEFT
    plot_w = width - left - _RIGHT
    plot_h = height - top_pad - bottom_pad - 22
    # A legend that wraps makes the chart taller, not its plot shorter.
    full_height = height + max((line for _x, line in legend), default=0) * _LEGEND_LINE
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {full_height}" width="100%" '
        f'role="img" aria-label="{escape(title)}" class="tocsin-chart" font-family="sans-serif" '
        f'font-size="{_FONT_SIZE}">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(_GRID + 1):
        value = top * i / _GRID
        y = top_pad + plot_h - plot_h * i / _GRID
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - _RIGHT}" y2="{y:.1f}" stroke="#e2e8f0"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#4a5568">{value:g}</text>')
    for index, label in x_labels:
        x = left + plot_w * (index + 0.5) / max(slots, 1)
        parts.append(
            f'<text x="{x:.1f}" y="{top_pad + plot_h + 16:.1f}" text-anchor="middle" fill="#4a5568">'
            f"{escape(label)}</text>"
        )
    return _Plot(parts, float(left), float(top_pad), float(plot_w), float(plot_h), slots, top, legend, height - 6)


def _finish(plot: _Plot, series: Sequence[Series]) -> SafeString:
    _legend(plot.parts, series, plot.legend, y=plot.legend_y)
    plot.parts.append("</svg>")
    # Safe: numbers are formatted by us and every label is escaped.
    return mark_safe("".join(plot.parts))


def text_width(text: str, *, size: float = _FONT_SIZE) -> float:
    """How wide ``text`` is drawn, at most, in a sans-serif font of ``size`` pixels."""
    total = 0
    for char in text:
        # An accented letter is as wide as its letter ("é" as "e"); anything else unknown, a full em.
        base = unicodedata.normalize("NFD", char)[:1]
        code = ord(base) - 32 if base else -1
        total += _WIDTHS[code] if 0 <= code < len(_WIDTHS) else 1000
    return total * size / 1000


def _legend_places(series: Sequence[Series], *, left: float, right: float) -> list[tuple[float, int]]:
    """Where each legend item starts (x, line): one after another by the length of its label,
    on a new line when the next would pass ``right``."""
    places: list[tuple[float, int]] = []
    x, line = left, 0
    for item in series:
        width = _SWATCH + text_width(item.label)
        if x > left and x + width > right:
            x, line = left, line + 1
        places.append((x, line))
        x += width + _LEGEND_GAP
    return places


def _legend(parts: list[str], series: Sequence[Series], places: Sequence[tuple[float, int]], *, y: float) -> None:
    for i, (item, (lx, line)) in enumerate(zip(series, places, strict=True)):
        color = item.color or PALETTE[i % len(PALETTE)]
        ly = y + line * _LEGEND_LINE
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 9:.1f}" width="10" height="10" fill="{escape(color)}"/>')
        parts.append(f'<text x="{lx + _SWATCH:.1f}" y="{ly:.1f}" fill="#1a202c">{escape(item.label)}</text>')


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_labels: Sequence[tuple[int, str]] = (),
    width: int = 760,
    height: int = 260,
) -> SafeString:
    plot = _frame(series, width=width, height=height, title=title, x_labels=x_labels)
    for i, item in enumerate(series):
        color = item.color or PALETTE[i % len(PALETTE)]
        points = " ".join(f"{plot.x(j + 0.5):.1f},{plot.y(value):.1f}" for j, value in enumerate(item.values))
        plot.parts.append(f'<polyline fill="none" stroke="{escape(color)}" stroke-width="2" points="{points}"/>')
        if len(item.values) == 1:
            # A line through one point draws nothing: a single day (or hour) is shown as a dot.
            x, y = points.split(",")
            plot.parts.append(f'<circle cx="{x}" cy="{y}" r="4" fill="{escape(color)}"/>')
    return _finish(plot, series)


def bar_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_labels: Sequence[tuple[int, str]] = (),
    width: int = 760,
    height: int = 260,
) -> SafeString:
    """Grouped bars: one group per slot (e.g. week), one bar per series."""
    plot = _frame(series, width=width, height=height, title=title, x_labels=x_labels)
    group_w = plot.plot_w / max(plot.slots, 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    for i, item in enumerate(series):
        color = item.color or PALETTE[i % len(PALETTE)]
        for j, value in enumerate(item.values):
            bar_h = plot.plot_h * value / plot.top
            x = plot.x(j) + group_w * 0.1 + bar_w * i
            plot.parts.append(
                f'<rect x="{x:.1f}" y="{plot.y(value):.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" '
                f'fill="{escape(color)}"><title>{escape(item.label)}: {value:g}</title></rect>'
            )
    return _finish(plot, series)
