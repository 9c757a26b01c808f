"""A data subject access request (GDPR Art. 15) presented: the report's sections as JSON
(``access_report``) and as a readable page (``render_html``). The application gathers what is
held (``SubjectAccess``); this module only says it."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.participants.application import SubjectAccess

PURPOSES_TEXT = {
    "recruitment": "taking part in recruitments of staff (panels, assessments, writing)",
    "matching": "matching you to recruitments whose needs fit your experience",
    "research": "research follow-up of the model by Centrum för tjänsteforskning, pseudonymised",
    "contact": "contacting you about taking part",
}
RECIPIENTS = [
    "coordinators of the departments you consented to",
    "the municipality's payroll (pseudonymous payee reference and amounts)",
    "researchers (pseudonymised data only, with research consent)",
]


def access_report(held: SubjectAccess, read_log: list[dict[str, Any]]) -> dict[str, Any]:
    """The report's sections: the record, readiness, contact status, limits, honoraria, purposes,
    recipients, retention, legal holds and who read the data (``read_log``, from the access log's
    read model, ends with this request's own read even before the read model has it)."""
    logged = {entry["access_id"] for entry in read_log}
    reads = [*read_log, *([held.this_read] if held.this_read["access_id"] not in logged else [])]
    participant, months = held.participant, held.retention_months
    return {
        "subject": held.record,
        "readiness": {"confidentiality": participant.confidentiality,
                      "training_completed_on": participant.training_completed_on},
        "contact_status": {**participant.contact, "reason": held.reveal(participant.contact["reason"])},
        "limit_overrides": [{**o, "reason": held.reveal(o["reason"])} for o in participant.limit_overrides],
        "honoraria": {"accruals": list(participant.accruals.values()),
                      "expenses": list(participant.expenses.values()),
                      "payments": list(participant.payments.values()),
                      "payment_declined": participant.payment_declined,
                      "payee_ref": held.payee_ref},
        "purposes": [{"purpose": p, "description": PURPOSES_TEXT[p],
                      "consented_departments": sorted(c.split(":", 1)[1] for c in participant.consents
                                                      if c.startswith(p + ":"))}
                     for p in PURPOSES_TEXT],
        "recipients": RECIPIENTS,
        "retention": {"inactive_profile_months": months,
                      "rule": f"erased after {months} months without activity or renewed consent; "
                              "honoraria and panel participation kept pseudonymously as records law requires"},
        "legal_holds": sorted(participant.legal_holds.values()),
        "read_log": reads,
    }


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
