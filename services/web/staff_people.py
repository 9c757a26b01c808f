"""A person's rights, carried out by a coordinator of one of the person's departments:
rectification of contact details, restriction of processing, legal holds (add, lift) and erasure
with its legal basis. Each is a form, then "check before you send", then a confirmation that says
what happens next. What the participants service refuses (a legal hold blocking erasure, a
change made meanwhile) is shown on the check page in plain words, and nothing has happened.

The pending change waits in the session between the form and the check page; it holds the
person's pseudonymous id and the new values only until it is sent or replaced.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.exceptions import NotFound
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from services.web import backend
from services.web.backend import Refused
from services.web.forms import tr
from services.web.staff import READ_PURPOSE, chosen_department, coordinator_only, errors_of, staff_only

people = Blueprint("people", __name__)

NONE = "\u2013"  # an en dash: the page's "nothing here"
HOLD_BASES = ("dispute", "authority", "archive", "other")
# What the records say (the legal basis is stored as written; Swedish labels are for the page).
ERASURE_BASES = {
    "consent_withdrawn": "GDPR Art. 17(1)(b): consent withdrawn, erasure requested",
    "not_needed": "GDPR Art. 17(1)(a): no longer necessary for the purpose",
    "objection": "GDPR Art. 17(1)(c): the person objected to the processing",
    "unlawful": "GDPR Art. 17(1)(d): processed unlawfully",
}
# The page's choices of a hold's basis and the participants service's vocabulary of grounds.
HOLD_GROUND = {"dispute": "legal_claim", "authority": "supervisory_authority", "archive": "records_law",
               "other": "other"}
BASIS_OF_GROUND = {ground: basis for basis, ground in HOLD_GROUND.items()}


def _person(pid: UUID, department: str) -> dict[str, Any]:
    """The person's record (a logged read), 404 unless they are in ``department``'s bank."""
    record: dict[str, Any] = backend.get("participants", f"/participants/{pid}", purpose=READ_PURPOSE)
    if department not in record["departments"]:
        abort(404)
    return record


# -- the forms, one per right ---------------------------------------------------------------
def rectify_form(record: dict[str, Any]) -> FlaskForm:
    class RectifyForm(FlaskForm):
        name = StringField(validators=[DataRequired(tr("staff_name_required")), Length(max=200)],
                           default=record["name"])
        email = StringField(validators=[Optional(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=tr("email_invalid"))],
                            default=record["email"])
        phone = StringField(validators=[Optional(), Regexp(r"^\+?[0-9 ()-]{5,20}$", message=tr("phone_invalid"))],
                            default=record["phone"])

    return RectifyForm()


def restrict_form(record: dict[str, Any]) -> FlaskForm:
    class RestrictForm(FlaskForm):
        restricted = RadioField(choices=[("yes", tr("people_restrict_yes")), ("no", tr("people_restrict_no"))],
                                validators=[InputRequired(tr("people_restrict_required"))],
                                default="no" if record["restricted"] else "yes")
        reason = TextAreaField(validators=[Optional(), Length(max=400, message=tr("people_restrict_reason_long"))])

    return RestrictForm()


def hold_form(record: dict[str, Any]) -> FlaskForm:
    class HoldForm(FlaskForm):
        basis = RadioField(choices=[(b, tr(f"basis_{b}")) for b in HOLD_BASES],
                           validators=[InputRequired(tr("people_basis_required"))])
        reason = TextAreaField(validators=[DataRequired(tr("people_hold_reason_required")),
                                           Length(min=5, max=400, message=tr("people_hold_reason_required"))])

    return HoldForm()


def lift_form(record: dict[str, Any]) -> FlaskForm:
    class LiftForm(FlaskForm):
        hold_id = HiddenField(validators=[InputRequired()])

    return LiftForm()


def erase_form(record: dict[str, Any]) -> FlaskForm:
    class EraseForm(FlaskForm):
        legal_basis = RadioField(choices=[(b, tr(f"erase_{b}")) for b in ERASURE_BASES],
                                 validators=[InputRequired(tr("people_basis_required"))])

    return EraseForm()


# -- what each right shows on the check page and what it sends --------------------------------
@dataclass(frozen=True)
class Right:
    """One right: its form, the rows of its check page, its outcome key and the call it makes."""

    form: Callable[[dict[str, Any]], FlaskForm]
    rows: Callable[[dict[str, Any], dict[str, Any]], list[tuple[str, str]]]
    outcome: Callable[[dict[str, Any]], str]  # the suffix of the consequence/done/next texts
    send: Callable[[UUID, dict[str, Any], dict[str, Any]], Any]


def _hold_reason(record: dict[str, Any], hold_id: str) -> str:
    return next((h["reason"] for h in record["legal_holds"] if h["hold_id"] == hold_id), "")


def hold_label(hold: dict[str, Any]) -> str:
    """A hold as the pages name it: its ground (when recorded) and what it is about."""
    basis = BASIS_OF_GROUND.get(hold.get("ground") or "")
    return f"{tr('basis_' + basis)}: {hold['reason']}" if basis else str(hold["reason"])


def _restriction_rows(d: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [(tr("people_check_restricted"),
             tr("people_restrict_yes") if d["restricted"] == "yes" else tr("people_restrict_no"))]
    if d["restricted"] == "yes":
        rows.append((tr("people_restrict_reason"), (d.get("reason") or "").strip() or NONE))
    return rows


def _restriction(d: dict[str, Any]) -> dict[str, Any]:
    """What the service takes: the reason only when restricting (lifting records none)."""
    reason = (d.get("reason") or "").strip() if d["restricted"] == "yes" else ""
    return {"restricted": d["restricted"] == "yes", "reason": reason or None}


RIGHTS: dict[str, Right] = {
    "rattelse": Right(
        rectify_form,
        lambda rec, d: [(tr("bank_name"), d["name"]), (tr("email"), d["email"] or NONE),
                        (tr("phone"), d["phone"] or NONE)],
        lambda d: "rectify",
        lambda pid, rec, d: backend.put("participants", f"/participants/{pid}/contact-details", {
            "name": d["name"], "email": d["email"] or None, "phone": d["phone"] or None,
            "expected_version": rec["version"]})),
    "begransning": Right(
        restrict_form,
        lambda rec, d: _restriction_rows(d),
        lambda d: "restrict" if d["restricted"] == "yes" else "unrestrict",
        lambda pid, rec, d: backend.put("participants", f"/participants/{pid}/restriction", _restriction(d))),
    "sparr": Right(
        hold_form,
        lambda rec, d: [(tr("people_check_basis"), tr(f"basis_{d['basis']}")),
                        (tr("people_check_reason"), d["reason"])],
        lambda d: "hold",
        # The ground from the service's vocabulary, and the description as its own field.
        lambda pid, rec, d: backend.post("participants", f"/participants/{pid}/legal-holds",
                                         {"ground": HOLD_GROUND[d["basis"]], "reason": d["reason"].strip()})),
    "hav-sparr": Right(
        lift_form,
        lambda rec, d: [(tr("people_check_hold"), next((hold_label(h) for h in rec["legal_holds"]
                                                        if h["hold_id"] == d["hold_id"]), ""))],
        lambda d: "lift",
        lambda pid, rec, d: backend.call("DELETE", "participants", f"/participants/{pid}/legal-holds/{d['hold_id']}")),
    "radering": Right(
        erase_form,
        lambda rec, d: [(tr("people_check_legal_basis"), tr(f"erase_{d['legal_basis']}"))],
        lambda d: "erase",
        lambda pid, rec, d: backend.post("participants", f"/participants/{pid}/erasure",
                                         {"legal_basis": ERASURE_BASES[d["legal_basis"]]})),
}
TITLES = {"rattelse": "people_rectify_title", "begransning": "people_restrict_title", "sparr": "people_hold_title",
          "hav-sparr": "people_submit_lift", "radering": "people_erase_title"}


def _right(kind: str) -> Right:
    if kind not in RIGHTS:
        abort(404)
    return RIGHTS[kind]


def _form_data(form: FlaskForm) -> dict[str, Any]:
    return {k: v for k, v in form.data.items() if k != "csrf_token"}


# -- the pages ------------------------------------------------------------------------------
@people.get("/brukarbank/<uuid:pid>/rattigheter")
@coordinator_only
def rights(pid: UUID) -> Any:
    """What the person's rights stand at: details, restriction, legal holds, and the ways to act."""
    department = chosen_department()
    record = _person(pid, department)
    return render_template("people_rights.html", person=record, department=department, hold_label=hold_label)


@people.route("/brukarbank/<uuid:pid>/rattigheter/<kind>", methods=["GET", "POST"])
@coordinator_only
def change(pid: UUID, kind: str) -> Any:
    """The form of one right; a valid answer waits in the session for the check page."""
    right, department = _right(kind), chosen_department()
    record = _person(pid, department)
    form = right.form(record)
    if form.validate_on_submit():
        data = _form_data(form)
        if kind == "hav-sparr" and not _hold_reason(record, data["hold_id"]):
            abort(404)
        session["people_pending"] = {"pid": str(pid), "kind": kind, "data": data}
        return redirect(url_for("people.check", pid=pid, kind=kind, department=department))
    if kind == "hav-sparr":  # its only input is the button on the rights page
        return redirect(url_for("people.rights", pid=pid, department=department))
    status = 400 if form.is_submitted() else 200
    return render_template("people_form.html", person=record, department=department, kind=kind, form=form,
                           title_key=TITLES[kind], errors=errors_of(form)), status


def _pending(pid: UUID, kind: str) -> dict[str, Any] | None:
    pending = session.get("people_pending") or {}
    if pending.get("pid") != str(pid) or pending.get("kind") != kind:
        return None
    data: dict[str, Any] = pending["data"]
    return data


@people.route("/brukarbank/<uuid:pid>/rattigheter/<kind>/kontrollera", methods=["GET", "POST"])
@coordinator_only
def check(pid: UUID, kind: str) -> Any:
    """Check before you send; sending calls the participants service once. A refusal is shown
    here, plainly, and the change waits to be corrected or abandoned."""
    right, department = _right(kind), chosen_department()
    record = _person(pid, department)
    data = _pending(pid, kind)
    if data is None:
        return redirect(url_for("people.rights", pid=pid, department=department))
    outcome = right.outcome(data)
    errors: dict[str, str] = {}
    form = FlaskForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            right.send(pid, record, data)
        except Refused as error:
            errors = {"submit": _refusal(error)}
        else:
            session.pop("people_pending", None)
            session["people_done"] = {"pid": str(pid), "outcome": outcome}
            return redirect(url_for("people.done", pid=pid, department=department))
    return render_template("people_check.html", person=record, department=department, kind=kind,
                           rows=right.rows(record, data), outcome=outcome, errors=errors,
                           title_key=TITLES[kind]), 409 if errors else 200


def _refusal(error: Refused) -> str:
    """What the service said, in words the coordinator can act on."""
    if error.field == "legal_holds":
        return tr("people_blocked_by_hold", detail=error.detail.split(": ", 1)[-1])
    if error.status == 409 or error.field == "If-Match":
        return tr("people_stale")
    return tr("refused", detail=error.detail)


@people.get("/brukarbank/<uuid:pid>/rattigheter/klart")
@coordinator_only
def done(pid: UUID) -> Any:
    """The confirmation: what was done and what happens next (after an erasure, there is no
    person's page to go back to)."""
    department = chosen_department()
    finished = session.get("people_done") or {}
    if finished.get("pid") != str(pid):
        return redirect(url_for("people.rights", pid=pid, department=department))
    name = None
    if finished["outcome"] != "erase":
        try:
            name = _person(pid, department)["name"]
        except NotFound:
            name = None
    return render_template("people_done.html", pid=pid, department=department, outcome=finished["outcome"],
                           name=name)


# -- the auditor's access log: who read personal data, when and why -----------------------------
ACCESS_SHOWN = 200  # the page shows the latest reads; a narrower search shows the others
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"


@people.get("/granskning/atkomstlogg")
@staff_only("auditor")
def access_log() -> Any:
    """Reads of personal data in the auditor's departments, searched by the person's or the
    reader's pseudonymous id (the audit service scopes the answer)."""
    wanted = {key: (request.args.get(key) or "").strip() for key in ("subject_id", "accessor_id")}
    errors: dict[str, str] = {}
    for key, value in wanted.items():
        if value and not re.match(ID_PATTERN, value):
            errors[key] = tr("access_give_one")
    searched = any(wanted.values())
    reads: list[dict[str, Any]] = []
    if searched and not errors:
        answer = backend.get("audit", "/access-log", **{k: v for k, v in wanted.items() if v})
        reads = sorted(answer["items"], key=lambda r: r["position"], reverse=True)
    elif request.args and not searched:
        errors["subject_id"] = tr("access_give_one")
    return render_template("people_access_log.html", wanted=wanted, reads=reads[:ACCESS_SHOWN], count=len(reads),
                           searched=searched and not errors, errors=errors), 400 if errors else 200
