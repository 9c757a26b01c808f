"""Server-side SVG charts: pure functions from numbers to an SVG string.

Both charts draw axes, tick labels, a title and a legend, scale to their container (``viewBox``)
and carry ``role="img"`` with a text alternative. Every bar is a ``<rect class="bar">`` with a
``data-value``, every line point a ``<circle class="point">``, so tests and screen readers can
read the numbers back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 40, 64
PALETTE = ("#1f6f8b", "#e07a1f", "#4c956c", "#8e5ea2", "#c0392b", "#7f8c8d")

Series = tuple[str, Sequence[float | None]]


def _nice_max(value: float) -> float:
    """A round upper bound for the y axis (1, 2, 2.5, 5 times 10^n)."""
    if value <= 0:
        return 1.0
    if value <= 10:
        return float(math.ceil(value))  # small counts and 1-5 ratings: whole-number ticks
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        bound = step * 10**exponent
        if bound >= value:
            return float(bound)
    return float(10 ** (exponent + 1))


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def _frame(title: str, y_max: float, y_label: str, body: list[str], legend: list[str]) -> str:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" class="chart" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" class="chart-title" font-size="15" '
        f'font-weight="bold">{escape(title)}</text>',
    ]
    # Whole-number axes up to 10 get a tick per unit; others get four intervals.
    steps = int(y_max) if float(y_max).is_integer() and 1 <= y_max <= 10 else 4
    for i in range(steps + 1):
        value = y_max * i / steps
        y = TOP + plot_h - plot_h * i / steps
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" class="tick">{_fmt(value)}</text>'
        )
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#333" class="axis"/>')
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="#333" class="axis"/>'
    )
    parts.append(
        f'<text x="14" y="{TOP + plot_h / 2:.1f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 14 {TOP + plot_h / 2:.1f})" class="axis-label">{escape(y_label)}</text>'
    )
    parts.extend(body)
    parts.extend(legend)
    parts.append("</svg>")
    return "".join(parts)


def _legend(names: Sequence[str]) -> list[str]:
    out = []
    x = LEFT
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        out.append(
            f'<rect x="{x}" y="{HEIGHT - 16}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{HEIGHT - 7}" font-size="11" class="legend">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return out


def _x_labels(labels: Sequence[str], centres: Sequence[float]) -> list[str]:
    y = HEIGHT - BOTTOM + 16
    rotate = len(labels) > 6
    out = []
    for label, x in zip(labels, centres, strict=True):
        transform = f' transform="rotate(-30 {x:.1f} {y})"' if rotate else ""
        anchor = "end" if rotate else "middle"
        out.append(
            f'<text x="{x:.1f}" y="{y}" font-size="11" text-anchor="{anchor}" class="x-label"'
            f"{transform}>{escape(label)}</text>"
        )
    return out


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    y_label: str = "",
    reference: tuple[str, float] | None = None,
    y_max: float | None = None,
) -> str:
    """Grouped bars: one group per label, one bar per series. ``reference`` draws a dashed
    horizontal line (e.g. the monthly budget). ``None`` values draw no bar."""
    values = [v for _, vs in series for v in vs if v is not None]
    top = max([*values, reference[1] if reference else 0, 0])
    bound = y_max or _nice_max(top)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(1, len(labels))
    bar_w = group_w * 0.8 / max(1, len(series))
    body: list[str] = []
    centres = []
    for g, label in enumerate(labels):
        x0 = LEFT + g * group_w + group_w * 0.1
        centres.append(LEFT + g * group_w + group_w / 2)
        for s, (name, vs) in enumerate(series):
            value = vs[g]
            if value is None:
                continue
            h = plot_h * min(value, bound) / bound
            x = x0 + s * bar_w
            body.append(
                f'<rect class="bar" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(bar_w - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}" data-series="{escape(name)}" '
                f'data-label="{escape(label)}" data-value="{_fmt(value)}">'
                f"<title>{escape(label)}, {escape(name)}: {_fmt(value)}</title></rect>"
            )
    body.extend(_x_labels(labels, centres))
    names = [name for name, _ in series]
    if reference is not None:
        y = TOP + plot_h - plot_h * min(reference[1], bound) / bound
        body.append(
            f'<line class="reference" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="#c0392b" stroke-dasharray="6 4" stroke-width="2" data-value="{_fmt(reference[1])}"/>'
        )
        body.append(
            f'<text x="{WIDTH - RIGHT}" y="{y - 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#c0392b">{escape(reference[0])}</text>'
        )
    if not labels:
        body.append(
            f'<text x="{WIDTH / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" font-size="13" class="empty">-</text>'
        )
    return _frame(title, bound, y_label, body, _legend(names))


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    y_label: str = "",
    y_max: float | None = None,
) -> str:
    """Lines over time: one point per label (e.g. month) and series; ``None`` breaks the line."""
    values = [v for _, vs in series for v in vs if v is not None]
    bound = y_max or _nice_max(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(labels))
    centres = [LEFT + step * i + step / 2 for i in range(len(labels))]
    body: list[str] = []
    for s, (name, vs) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        points = [
            (centres[i], TOP + plot_h - plot_h * min(v, bound) / bound, v, labels[i])
            for i, v in enumerate(vs)
            if v is not None
        ]
        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(vs):
            if v is None:
                runs.append([])
            else:
                runs[-1].append((centres[i], TOP + plot_h - plot_h * min(v, bound) / bound))
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                body.append(
                    f'<polyline class="line" points="{path}" fill="none" stroke="{colour}" '
                    f'stroke-width="2.5" data-series="{escape(name)}"/>'
                )
        for x, y, v, label in points:
            body.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}" '
                f'data-series="{escape(name)}" data-label="{escape(label)}" data-value="{_fmt(v)}">'
                f"<title>{escape(label)}, {escape(name)}: {_fmt(v)}</title></circle>"
            )
    body.extend(_x_labels(labels, centres))
    if not labels:
        body.append(
            f'<text x="{WIDTH / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" font-size="13" class="empty">-</text>'
        )
    return _frame(title, bound, y_label, body, _legend([name for name, _ in series]))
