"""A very small server-side SVG chart renderer: no JavaScript, no CDN, no Node.

Two shapes are enough for the admin: a line chart (events per hour over a
campaign's first 72 hours) and a grouped bar chart (list growth per week).
Every label is escaped; the output is safe to mark_safe in a template.
"""

from __future__ import annotations

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


def _frame(
    *, width: int, height: int, title: str, top: float, x_labels: Sequence[tuple[int, str]], slots: int, left: int
) -> tuple[list[str], float, float, float, float]:
    bottom_pad, top_pad, right = 28, 12, 10
    plot_w = width - left - right
    plot_h = height - top_pad - bottom_pad - 22
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(title)}" class="tocsin-chart" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(_GRID + 1):
        value = top * i / _GRID
        y = top_pad + plot_h - plot_h * i / _GRID
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e2e8f0"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#4a5568">{value:g}</text>')
    for index, label in x_labels:
        x = left + plot_w * (index + 0.5) / max(slots, 1)
        parts.append(
            f'<text x="{x:.1f}" y="{top_pad + plot_h + 16:.1f}" text-anchor="middle" fill="#4a5568">'
            f"{escape(label)}</text>"
        )
    return parts, float(left), float(top_pad), float(plot_w), float(plot_h)


def _legend(parts: list[str], series: Sequence[Series], *, x: float, y: float) -> None:
    for i, item in enumerate(series):
        color = item.color or PALETTE[i % len(PALETTE)]
        lx = x + i * 120
        parts.append(f'<rect x="{lx:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{escape(color)}"/>')
        parts.append(f'<text x="{lx + 14:.1f}" y="{y:.1f}" fill="#1a202c">{escape(item.label)}</text>')


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_labels: Sequence[tuple[int, str]] = (),
    width: int = 760,
    height: int = 260,
) -> SafeString:
    slots = max((len(s.values) for s in series), default=0)
    top = _nice_max(max((max(s.values, default=0) for s in series), default=0))
    parts, left, top_pad, plot_w, plot_h = _frame(
        width=width, height=height, title=title, top=top, x_labels=x_labels, slots=slots, left=44
    )
    for i, item in enumerate(series):
        color = item.color or PALETTE[i % len(PALETTE)]
        points = " ".join(
            f"{left + plot_w * (j + 0.5) / max(slots, 1):.1f},{top_pad + plot_h - plot_h * value / top:.1f}"
            for j, value in enumerate(item.values)
        )
        parts.append(f'<polyline fill="none" stroke="{escape(color)}" stroke-width="2" points="{points}"/>')
        if len(item.values) == 1:
            # A line through one point draws nothing: a single day (or hour) is shown as a dot.
            x, y = points.split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="4" fill="{escape(color)}"/>')
    _legend(parts, series, x=left, y=height - 6)
    parts.append("</svg>")
    # Safe: numbers are formatted by us and every label is escaped above.
    return mark_safe("".join(parts))


def bar_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_labels: Sequence[tuple[int, str]] = (),
    width: int = 760,
    height: int = 260,
) -> SafeString:
    """Grouped bars: one group per slot (e.g. week), one bar per series."""
    slots = max((len(s.values) for s in series), default=0)
    top = _nice_max(max((max(s.values, default=0) for s in series), default=0))
    parts, left, top_pad, plot_w, plot_h = _frame(
        width=width, height=height, title=title, top=top, x_labels=x_labels, slots=slots, left=44
    )
    group_w = plot_w / max(slots, 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    for i, item in enumerate(series):
        color = item.color or PALETTE[i % len(PALETTE)]
        for j, value in enumerate(item.values):
            bar_h = plot_h * value / top
            x = left + group_w * j + group_w * 0.1 + bar_w * i
            y = top_pad + plot_h - bar_h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" fill="{escape(color)}">'
                f"<title>{escape(item.label)}: {value:g}</title></rect>"
            )
    _legend(parts, series, x=left, y=height - 6)
    parts.append("</svg>")
    # Safe: numbers are formatted by us and every label is escaped above.
    return mark_safe("".join(parts))
