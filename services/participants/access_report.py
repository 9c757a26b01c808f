"""The readable (HTML) form of a data subject access request (GDPR Art. 15)."""

from __future__ import annotations

from html import escape
from typing import Any


def _value(value: Any) -> str:
    if isinstance(value, dict):
        rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{_value(v)}</td></tr>" for k, v in value.items())
        return f"<table>{rows}</table>"
    if isinstance(value, list):
        if not value:
            return "<em>none</em>"
        return "<ul>" + "".join(f"<li>{_value(v)}</li>" for v in value) + "</ul>"
    if value is None:
        return "<em>none</em>"
    return escape(str(value))


SECTIONS = (
    ("subject", "What we hold about you"),
    ("readiness", "Confidentiality undertaking and training"),
    ("contact_status", "Contact status"),
    ("limit_overrides", "Participation limit overrides"),
    ("honoraria", "Honoraria, expenses and payments"),
    ("purposes", "Why we process your data"),
    ("recipients", "Who receives it"),
    ("retention", "How long we keep it"),
    ("legal_holds", "Legal holds"),
    ("read_log", "Who read your data, when and why"),
)


def render_html(report: dict[str, Any]) -> str:
    """One self-contained HTML page; every value escaped."""
    parts = [
        "<!doctype html><html lang='sv'><head><meta charset='utf-8'>",
        "<title>Your data in Delaktig</title></head><body>",
        "<h1>Your data in Delaktig (GDPR Art. 15)</h1>",
    ]
    for key, title in SECTIONS:
        parts.append(f"<section id='{key}'><h2>{escape(title)}</h2>{_value(report.get(key))}</section>")
    parts.append("</body></html>")
    return "".join(parts)
