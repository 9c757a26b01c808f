"""The service user's pages. Each route reads through the services' APIs as the signed-in
person, and each form posts one command to one service; no rule lives here that a service
does not also enforce."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.exceptions import NotFound

from services.web import backend
from services.web.backend import Refused
from services.web.forms import (
    answer_form,
    confirm_form,
    conflict_form,
    consent_form,
    contact_form,
    decline_reason_form,
    feedback_form,
    pause_form,
    score_form,
    terms_form,
    tr,
    undertaking_form,
    window_form,
)
from services.web.signin import participant_only, session_alive
from shared.contract import ENDED_STAGES, RUNNING_STAGES

pages = Blueprint("pages", __name__)

UNDERTAKING_VERSION = "2026-1"
PURPOSES = ("recruitment", "matching", "research", "contact")
PAST_PAGE = 10  # past assignments per page of /mina-uppdrag, newest first


def me() -> str:
    return str(session["sub"])


def errors_of(form: FlaskForm) -> dict[str, str]:
    """The first message per field, for the error summary and beside each field."""
    return {name: messages[0] for name, messages in form.errors.items() if name != "csrf_token" and messages}


def refused(form: FlaskForm, error: Refused, field: str | None = None) -> dict[str, str]:
    """A service's refusal shown beside the field it names (or the form's first field)."""
    name = field or error.field or next((f.name for f in form if f.name != "csrf_token"), "form")
    return {**errors_of(form), name: tr("refused", detail=error.detail)}


def today() -> str:
    return datetime.now(UTC).date().isoformat()


# -- the start ------------------------------------------------------------------------------
@pages.get("/")
def home() -> Any:
    """The start page; signed-in service users go straight to their assignments."""
    if session_alive():
        if "participant" in session.get("roles", []):
            return redirect(url_for("pages.assignments"))
        return redirect(url_for("staff.start"))  # every staff role: one start page listing what it may use
    return render_template("start.html")


# -- Mina uppdrag ---------------------------------------------------------------------------
def _departments() -> Callable[[str], str]:
    cache: dict[str, str] = {}

    def name(code: str) -> str:
        if code not in cache:
            try:
                cache[code] = backend.get("participants", f"/departments/{code}")["name"]
            except NotFound:
                cache[code] = code
        return cache[code]

    return name


def _invitation(rid: str) -> str | None:
    try:
        status: str = backend.get("matching", f"/recruitments/{rid}/invitation")["status"]
        return status
    except NotFound:
        return None  # seated before invitations existed, or matching does not know it yet


def _outcome(rid: str) -> dict[str, Any] | None:
    try:
        outcome: dict[str, Any] = backend.get("recruitments", f"/recruitments/{rid}/outcome")
        return outcome
    except Refused:
        return None  # not shared with this person (yet)


@pages.get("/mina-uppdrag")
@participant_only
def assignments() -> Any:
    """Invitations to answer, upcoming assignments, and past ones with their outcome: the newest
    ``PAST_PAGE`` at a time, with a link further back (years of assignments stay one short page)."""
    department = _departments()
    invitations: list[dict[str, Any]] = []
    upcoming: list[dict[str, Any]] = []
    # Their own panels in the open stages: few, bounded by the participation limits.
    for item in backend.items("recruitments", "/recruitments", stage=list(RUNNING_STAGES)):
        item["department_name"] = department(item["department"])
        item["invitation"] = _invitation(item["id"])
        if item["invitation"] == "declined":
            continue
        (invitations if item["invitation"] == "invited" else upcoming).append(item)
    earlier = request.args.get("tidigare") or None
    try:
        page = _past_page(earlier)
    except Refused:  # a cursor of another listing, or typed by hand: start from the newest
        earlier, page = None, _past_page(None)
    past: list[dict[str, Any]] = []
    for item in page["items"]:  # a seat never answered before the decision still was taken part in
        item["department_name"] = department(item["department"])
        if _invitation(item["id"]) == "declined":
            continue
        item["outcome"] = _outcome(item["id"])
        past.append(item)
    return render_template("assignments.html", invitations=invitations, upcoming=upcoming, past=past,
                           more_past=page["next_cursor"], paged_back=earlier is not None)


def _past_page(cursor: str | None) -> dict[str, Any]:
    page: dict[str, Any] = backend.get("recruitments", "/recruitments", stage=list(ENDED_STAGES), newest_first=True,
                                       limit=PAST_PAGE, **({"cursor": cursor} if cursor else {}))
    return page


def _recruitment(rid: UUID) -> dict[str, Any]:
    view: dict[str, Any] = backend.get("recruitments", f"/recruitments/{rid}")
    return view


def _candidates(rid: UUID) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = backend.items("recruitments", f"/recruitments/{rid}/candidates")
    return items


@pages.get("/uppdrag/<uuid:rid>")
@participant_only
def assignment(rid: UUID) -> Any:
    """One assignment: when, where, what to prepare, the candidates and how it went."""
    rec = _recruitment(rid)
    rec["department_name"] = _departments()(rec["department"])
    invitation = _invitation(str(rid))
    candidates = _candidates(rid) if invitation != "invited" else []
    for candidate in candidates:  # the list says whether I scored: no request per candidate
        candidate["scored"] = bool(candidate.get("scored_by_you"))
    outcome = _outcome(str(rid)) if rec["stage"] in ENDED_STAGES else None
    hired = next((c["name"] for c in candidates if outcome and c["id"] == outcome["candidate_id"]), None)
    return render_template("assignment.html", rec=rec, invitation=invitation, candidates=candidates,
                           outcome=outcome, hired=hired)


# -- answering an invitation ----------------------------------------------------------------
@pages.route("/uppdrag/<uuid:rid>/svar", methods=["GET", "POST"])
@participant_only
def answer(rid: UUID) -> Any:
    """Yes or no to a panel seat (one question)."""
    rec = _recruitment(rid)
    if _invitation(str(rid)) != "invited":
        return redirect(url_for("pages.assignment", rid=rid))
    form = answer_form()
    if form.validate_on_submit():
        if form.answer.data == "no":  # type: ignore[attr-defined]
            return redirect(url_for("pages.decline_reason", rid=rid))
        try:
            backend.post("matching", f"/recruitments/{rid}/invitation/acceptance")
        except Refused as error:
            return render_template("answer.html", rec=rec, form=form, errors=refused(form, error, "answer")), 409
        return render_template("answered.html", rec=rec, title_key="accepted_title", body_key="accepted_body")
    status = 400 if form.is_submitted() else 200
    return render_template("answer.html", rec=rec, form=form, errors=errors_of(form)), status


@pages.route("/uppdrag/<uuid:rid>/tacka-nej", methods=["GET", "POST"])
@participant_only
def decline_reason(rid: UUID) -> Any:
    """Why (optional), then the check page."""
    rec = _recruitment(rid)
    form = decline_reason_form()
    if request.method == "GET" and session.get("decline", {}).get("rid") == str(rid):
        form.reason.data = session["decline"]["reason"]  # type: ignore[attr-defined]
    if form.validate_on_submit():
        session["decline"] = {"rid": str(rid), "reason": form.reason.data or "none"}  # type: ignore[attr-defined]
        return redirect(url_for("pages.decline_check", rid=rid))
    return render_template("decline_reason.html", rec=rec, form=form, errors=errors_of(form))


@pages.route("/uppdrag/<uuid:rid>/tacka-nej/kontrollera", methods=["GET", "POST"])
@participant_only
def decline_check(rid: UUID) -> Any:
    """Check your answer, with what declining means, before it happens."""
    rec = _recruitment(rid)
    pending = session.get("decline", {})
    if pending.get("rid") != str(rid):
        return redirect(url_for("pages.answer", rid=rid))
    form = confirm_form()
    if form.validate_on_submit():
        reason = pending.get("reason")
        try:
            result = backend.post("matching", f"/recruitments/{rid}/invitation/decline",
                                  {"reason": None if reason in (None, "none") else reason})
        except Refused as error:
            return render_template("decline_check.html", rec=rec, form=form, reason=reason,
                                   errors={"decline": tr("refused", detail=error.detail)}), 409
        session.pop("decline", None)
        return render_template("answered.html", rec=rec, title_key="declined_title", body_key="declined_body",
                               no_replacement=not result.get("replacement_found"))
    return render_template("decline_check.html", rec=rec, form=form, reason=pending.get("reason"), errors={})


# -- the scorecard ----------------------------------------------------------------------------
def _candidate(rid: UUID, cid: str) -> dict[str, Any]:
    found = next((c for c in _candidates(rid) if c["id"] == cid), None)
    if found is None:
        abort(404)
    return found


def _scores_payload(rec: dict[str, Any], form: FlaskForm) -> dict[str, Any]:
    return {"scores": {a["key"]: int(getattr(form, f"attr_{a['key']}").data) for a in rec["scorecard"]},
            "recommendation": form.recommendation.data}  # type: ignore[attr-defined]


@pages.route("/uppdrag/<uuid:rid>/kandidater/<cid>", methods=["GET", "POST"])
@participant_only
def scorecard(rid: UUID, cid: str) -> Any:
    """Score a candidate 1-5 per focus attribute with a recommendation; the others' scores are
    shown only after one's own is submitted (the service decides what it returns)."""
    rec = _recruitment(rid)
    candidate = _candidate(rid, cid)
    path = f"/recruitments/{rid}/candidates/{cid}/scores"
    form = score_form(rec["scorecard"])
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        body = _scores_payload(rec, form)
        body["comment"] = form.comment.data or None  # type: ignore[attr-defined]
        try:
            backend.post("recruitments", path, body)
            flash(tr("saved"))
            return redirect(url_for("pages.scorecard", rid=rid, cid=cid), 303)
        except Refused as error:
            if "conflict of interest" in error.detail and "before scoring" in error.detail:
                return redirect(url_for("pages.conflict", rid=rid, cid=cid), 303)  # the question comes first
            errors = refused(form, error, "recommendation")
    elif form.is_submitted():
        errors = errors_of(form)
    scores = backend.get("recruitments", path)
    own = next((s for s in scores["scores"] if s["member"]["id"] == me()), None)
    labels = {a["key"]: a["label"] for a in rec["scorecard"]}
    return render_template("scorecard.html", rec=rec, candidate=candidate, form=form, errors=errors, own=own,
                           scores=scores, labels=labels, my_id=me()), (400 if errors else 200)


@pages.route("/uppdrag/<uuid:rid>/kandidater/<cid>/andra", methods=["GET", "POST"])
@participant_only
def amend(rid: UUID, cid: str) -> Any:
    """Change one's own score: a reason is required and kept."""
    rec = _recruitment(rid)
    candidate = _candidate(rid, cid)
    path = f"/recruitments/{rid}/candidates/{cid}/scores"
    form = score_form(rec["scorecard"], amend=True)
    own = next((s for s in backend.get("recruitments", path)["scores"] if s["member"]["id"] == me()), None)
    if own is None:
        return redirect(url_for("pages.scorecard", rid=rid, cid=cid))
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        body = _scores_payload(rec, form)
        body["reason"] = form.reason.data  # type: ignore[attr-defined]
        try:
            backend.post("recruitments", path + "/amendments", body)
            flash(tr("saved"))
            return redirect(url_for("pages.scorecard", rid=rid, cid=cid), 303)
        except Refused as error:
            errors = refused(form, error, "reason")
    elif form.is_submitted():
        errors = errors_of(form)
    else:
        for key, value in own["scores"].items():
            field = getattr(form, f"attr_{key}", None)
            if field is not None:
                field.data = str(value)
        form.recommendation.data = own["recommendation"]  # type: ignore[attr-defined]
    return render_template("amend.html", rec=rec, candidate=candidate, form=form, errors=errors), (
        400 if errors else 200)


@pages.route("/uppdrag/<uuid:rid>/kandidater/<cid>/jav", methods=["GET", "POST"])
@participant_only
def conflict(rid: UUID, cid: str) -> Any:
    """Declare (no) conflict of interest for one candidate."""
    rec = _recruitment(rid)
    candidate = _candidate(rid, cid)
    form = conflict_form()
    errors: dict[str, str] = {}
    already = False
    if form.validate_on_submit():
        has_conflict = form.conflict.data == "yes"  # type: ignore[attr-defined]
        try:
            backend.post("recruitments", f"/recruitments/{rid}/candidates/{cid}/conflicts",
                         {"has_conflict": has_conflict})
            flash(tr("conflict_recorded_yes" if has_conflict else "conflict_recorded_no"))
            if has_conflict:
                return redirect(url_for("pages.assignment", rid=rid), 303)
            return redirect(url_for("pages.scorecard", rid=rid, cid=cid), 303)
        except Refused as error:
            errors = refused(form, error, "conflict")
            already = "already declared" in error.detail
    elif form.is_submitted():
        errors = errors_of(form)
    if already:
        errors = {"conflict": tr("conflict_already")}
    return render_template("conflict.html", rec=rec, candidate=candidate, form=form, errors=errors,
                           already=already), (400 if errors else 200)


# -- feedback ---------------------------------------------------------------------------------
@pages.route("/uppdrag/<uuid:rid>/aterkoppling", methods=["GET", "POST"])
@participant_only
def feedback(rid: UUID) -> Any:
    """Effect goal 3: could I take part and influence? Asked once the outcome is shared."""
    rec = _recruitment(rid)
    if _outcome(str(rid)) is None:
        return redirect(url_for("pages.assignment", rid=rid))
    form = feedback_form()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            backend.post("recruitments", f"/recruitments/{rid}/feedback/participant",
                         {"rating": int(form.rating.data), "text": form.text.data})  # type: ignore[attr-defined]
            flash(tr("feedback_given"))
            return redirect(url_for("pages.assignment", rid=rid), 303)
        except Refused as error:
            errors = refused(form, error, "text")
    elif form.is_submitted():
        errors = errors_of(form)
    return render_template("feedback.html", rec=rec, form=form, errors=errors), (400 if errors else 200)


# -- preparation: undertaking and training ----------------------------------------------------
def _export() -> dict[str, Any]:
    report: dict[str, Any] = backend.get("participants", f"/participants/{me()}/data-export")
    return report


@pages.get("/forberedelser")
@participant_only
def preparation() -> Any:
    """The confidentiality undertaking and the introduction training."""
    readiness = _export()["readiness"]
    return render_template("preparation.html", readiness=readiness)


@pages.route("/tystnadsplikt", methods=["GET", "POST"])
@participant_only
def undertaking() -> Any:
    """Read and sign the confidentiality undertaking."""
    form = undertaking_form()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            backend.post("participants", f"/participants/{me()}/confidentiality",
                         {"signed_on": today(), "text_version": UNDERTAKING_VERSION})
            flash(tr("saved"))
            return redirect(url_for("pages.preparation"), 303)
        except Refused as error:
            errors = refused(form, error, "confirm")
    elif form.is_submitted():
        errors = errors_of(form)
    return render_template("undertaking.html", form=form, errors=errors), (400 if errors else 200)


# -- availability, contact, pause --------------------------------------------------------------
def _record() -> dict[str, Any]:
    record: dict[str, Any] = backend.get("participants", f"/participants/{me()}", purpose="self-service")
    return record


@pages.route("/tider-och-kontakt", methods=["GET", "POST"])
@participant_only
def availability() -> Any:
    """Date windows when the person can take part, how to reach them, and their pause."""
    record = _record()
    form = window_form()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        windows = [*record["availability"], {"start": form.start.data.isoformat(),  # type: ignore[attr-defined]
                                             "end": form.end.data.isoformat()}]  # type: ignore[attr-defined]
        try:
            backend.put("participants", f"/participants/{me()}/availability",
                        {"windows": windows, "expected_version": record["version"]})
            flash(tr("saved"))
            return redirect(url_for("pages.availability"), 303)
        except Refused as error:
            errors = refused(form, error, "start")
    elif form.is_submitted():
        errors = errors_of(form)
    return render_template("availability.html", record=record, form=form, remove=confirm_form(),
                           errors=errors), (400 if errors else 200)


@pages.post("/tider-och-kontakt/ta-bort/<int:index>")
@participant_only
def remove_window(index: int) -> Any:
    record = _record()
    form = confirm_form()
    if not form.validate_on_submit() or not 0 <= index < len(record["availability"]):
        abort(400)
    windows = [w for i, w in enumerate(record["availability"]) if i != index]
    backend.put("participants", f"/participants/{me()}/availability",
                {"windows": windows, "expected_version": record["version"]})
    flash(tr("saved"))
    return redirect(url_for("pages.availability"), 303)


@pages.route("/kontaktuppgifter", methods=["GET", "POST"])
@participant_only
def contact() -> Any:
    record = _record()
    form = contact_form(record.get("email"), record.get("phone"))
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            backend.put("participants", f"/participants/{me()}/contact-details",
                        {"email": form.email.data or None, "phone": form.phone.data or None,  # type: ignore[attr-defined]
                         "expected_version": record["version"]})
            flash(tr("saved"))
            return redirect(url_for("pages.availability"), 303)
        except Refused as error:
            errors = refused(form, error)
    elif form.is_submitted():
        errors = errors_of(form)
    return render_template("contact.html", form=form, errors=errors), (400 if errors else 200)


@pages.route("/paus", methods=["GET", "POST"])
@participant_only
def pause() -> Any:
    """Pause oneself (no new invitations) or come back."""
    form = pause_form()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        status = "paused" if form.pause.data == "yes" else "available"  # type: ignore[attr-defined]
        try:
            backend.put("participants", f"/participants/{me()}/contact-status", {"status": status})
            flash(tr("saved"))
            return redirect(url_for("pages.availability"), 303)
        except Refused as error:
            errors = refused(form, error, "pause")
    elif form.is_submitted():
        errors = errors_of(form)
    else:
        form.pause.data = "yes" if _record()["contact_status"] == "paused" else "no"  # type: ignore[attr-defined]
    return render_template("pause.html", form=form, errors=errors), (400 if errors else 200)


# -- consents ----------------------------------------------------------------------------------
@pages.route("/samtycken", methods=["GET", "POST"])
@participant_only
def consents() -> Any:
    """Consent per purpose and department: given and withdrawn here."""
    form = consent_form()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        purpose, department = form.purpose.data, form.department.data  # type: ignore[attr-defined]
        action = form.action.data  # type: ignore[attr-defined]
        if action == "withdraw" and request.form.get("confirmed") != "yes":
            # A withdrawal has consequences: say what they are and ask once more (check your answer).
            return render_template("consent_check.html", purpose=purpose, department=department,
                                   department_name=_departments()(department))
        path = "/consents" if action == "give" else "/consents/withdrawal"
        try:
            backend.post("participants", f"/participants/{me()}{path}",
                         {"purpose": purpose, "department": department})
            flash(tr("saved"))
            return redirect(url_for("pages.consents"), 303)
        except Refused as error:
            errors = {"consents": tr("refused", detail=error.detail)}
    elif form.is_submitted():
        abort(400)
    record = _record()
    department = _departments()
    rows = [{"department": d, "department_name": department(d),
             "purposes": [{"purpose": p, "given": f"{p}:{d}" in record["consents"]} for p in PURPOSES]}
            for d in record["departments"]]
    return render_template("consents.html", rows=rows, form=form, errors=errors), (400 if errors else 200)


# -- honoraria ---------------------------------------------------------------------------------
def kronor(ore: int) -> str:
    """Öre as Swedish kronor: ``123456`` -> ``1 234,56``."""
    whole, cents = divmod(int(ore), 100)
    text = f"{whole:,}".replace(",", "\u00a0")
    return text if not cents else f"{text},{cents:02d}"


@pages.get("/arvoden")
@participant_only
def honoraria() -> Any:
    """What has been earned, approved and paid this year, and the payment terms."""
    year = request.args.get("ar", type=int) or datetime.now(UTC).year
    if not 2000 <= year <= 2100:
        abort(404)
    data = backend.get("participants", f"/participants/{me()}/honoraria", year=year)
    terms = backend.get("participants", f"/participants/{me()}/payment-terms")
    return render_template("honoraria.html", data=data, terms=terms, year=year, kronor=kronor)


@pages.route("/arvoden/villkor", methods=["GET", "POST"])
@participant_only
def payment_terms() -> Any:
    """Read what accepting payment means (economic assistance), then accept or decline it."""
    terms = backend.get("participants", f"/participants/{me()}/payment-terms")
    form = terms_form()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            backend.post("participants", f"/participants/{me()}/payment-terms/answer",
                         {"text_version": terms["text_version"],
                          "accept": form.accept.data == "yes", "reason": None})  # type: ignore[attr-defined]
            flash(tr("saved"))
            return redirect(url_for("pages.honoraria"), 303)
        except Refused as error:
            errors = refused(form, error, "accept")
    elif form.is_submitted():
        errors = errors_of(form)
    return render_template("terms.html", form=form, errors=errors), (400 if errors else 200)


# -- Mina uppgifter ----------------------------------------------------------------------------
@pages.get("/mina-uppgifter")
@participant_only
def my_data() -> Any:
    return render_template("my_data.html")


@pages.get("/mina-uppgifter/visa")
@participant_only
def show_data() -> Any:
    """The Art. 15 report as a page of this site."""
    return render_template("data.html", report=_export(), kronor=kronor)


@pages.get("/mina-uppgifter/ladda-ner")
@participant_only
def download_data() -> Any:
    """The Art. 15 report as a file to keep."""
    body = json.dumps(_export(), ensure_ascii=False, indent=2, sort_keys=True)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="mina-uppgifter-delaktig.json"'})


@pages.route("/mina-uppgifter/radera", methods=["GET", "POST"])
@participant_only
def erase() -> Any:
    """What erasure removes and what the law keeps, then erasure on request; signs out."""
    form = confirm_form()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            backend.post("participants", f"/participants/{me()}/erasure", {})
        except Refused as error:
            errors = {"erase": tr("erase_blocked", reason=error.detail)}
        else:
            lang = session.get("lang")
            from services.web.signin import end_session

            end_session()
            if lang:
                session["lang"] = lang
            return render_template("erased.html")
    return render_template("erase.html", form=form, errors=errors), (409 if errors else 200)
