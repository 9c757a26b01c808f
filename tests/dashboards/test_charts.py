"""The SVG charts are well-formed XML with the bars and points their numbers call for."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from services.dashboards.charts import bar_chart, line_chart

NS = "{http://www.w3.org/2000/svg}"


def _by_class(svg: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in svg.iter(f"{NS}{tag}") if e.get("class") == cls]


def test_bar_chart_draws_one_bar_per_value_with_axes_and_labels() -> None:
    svg = ET.fromstring(  # noqa: S314 - our own SVG
        bar_chart(
            "Arvoden <2026> & budget",
            ["2026-01", "2026-02", "2026-03"],
            [("Upparbetat", [1200, 0, 450.5]), ("Utbetalt", [1000, None, 300])],
            y_label="kr",
            reference=("Budget", 1500),
        )
    )
    assert svg.get("role") == "img" and svg.get("viewBox") == "0 0 640 320"
    assert svg.find(f"{NS}title").text == "Arvoden <2026> & budget"
    bars = _by_class(svg, "rect", "bar")
    assert [(b.get("data-series"), b.get("data-label"), b.get("data-value")) for b in bars] == [
        ("Upparbetat", "2026-01", "1200"),
        ("Utbetalt", "2026-01", "1000"),
        ("Upparbetat", "2026-02", "0"),
        ("Upparbetat", "2026-03", "450.5"),
        ("Utbetalt", "2026-03", "300"),
    ]
    heights = {b.get("data-value"): float(b.get("height")) for b in bars}
    assert heights["1200"] > heights["1000"] > heights["450.5"] > heights["300"] > heights["0"] == 0
    assert len(_by_class(svg, "line", "axis")) == 2
    assert [t.text for t in _by_class(svg, "text", "x-label")] == ["2026-01", "2026-02", "2026-03"]
    ticks = [t.text for t in _by_class(svg, "text", "tick")]
    assert ticks[0] == "0" and ticks[-1] == "2000"
    assert _by_class(svg, "line", "reference")[0].get("data-value") == "1500"


def test_line_chart_draws_points_and_breaks_lines_at_gaps() -> None:
    svg = ET.fromstring(  # noqa: S314 - our own SVG
        line_chart(
            "Mål 3",
            ["2026-03", "2026-04", "2026-05", "2026-06"],
            [("Betyg", [3.5, None, 4, 4.25])],
            y_label="1-5",
            y_max=5,
        )
    )
    points = _by_class(svg, "circle", "point")
    assert [p.get("data-value") for p in points] == ["3.5", "4", "4.25"]
    assert len(_by_class(svg, "polyline", "line")) == 1  # the gap splits 3.5 from the 4 → 4.25 run
    ys = [float(p.get("cy")) for p in points]
    assert ys[0] > ys[1] > ys[2]  # higher ratings sit higher on the chart
    assert _by_class(svg, "text", "tick")[-1].text == "5"


def test_empty_charts_are_still_valid_svg() -> None:
    for svg in (bar_chart("Tom", [], [("A", [])]), line_chart("Tom", [], [("A", [])])):
        root = ET.fromstring(svg)  # noqa: S314 - our own SVG
        assert root.tag == f"{NS}svg" and not _by_class(root, "rect", "bar")
