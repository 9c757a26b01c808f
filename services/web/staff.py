"""The staff's workspace: one start page per role, the coordinator's brukarbank (list, a
person's page, registering someone with their consents) and the recruitments board.

Every read and command goes through the services' public APIs with the signed-in person's
token, so the services' own department scoping is what decides what a page can show; the page
additionally only offers departments the session carries, so a coordinator never picks one
that is not theirs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.exceptions import Forbidden, NotFound
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from services.web import backend
from services.web.backend import Refused
from services.web.forms import tr
from services.web.signin import signed_in
from shared.contract import RECRUITMENT_STAGES as STAGES

F = TypeVar("F", bound=Callable[..., Any])
staff = Blueprint("staff", __name__)

STAFF_ROLES = ("coordinator", "hiring_manager", "administrator", "auditor", "researcher")
PURPOSES = ("recruitment", "matching", "research", "contact")
MAX_API_PAGE = 200  # the most a list endpoint answers at once
PAGE_SIZE = 15  # people per page of the brukarbank (the participants API pages with a cursor)
OTHERS_SHOWN = 30  # people outside a proposal shown with why not (the first of the bank, in id order)
BOARD_PAGE = 50  # recruitments per board page (the API's cursor pages them)
READ_PURPOSE = "brukarbank"  # every name shown is a logged read with this purpose


def roles() -> list[str]:
    return list(session.get("roles", []))


def staff_only(*allowed: str) -> Callable[[F], F]:
    """A signed-in person with one of ``allowed`` roles (any staff role when none given)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not set(roles()) & set(allowed or STAFF_ROLES):
                abort(403)
            return view(*args, **kwargs)

        return signed_in(wrapper)  # type: ignore[return-value]

    return decorate


def my_departments() -> list[str]:
    return [str(d) for d in session.get("departments", [])]


def chosen_department() -> str:
    """The department the page is about: one of the session's (403 for any other)."""
    mine = my_departments()
    wanted = request.values.get("department") or (mine[0] if mine else "")
    if wanted not in mine:
        abort(403)  # the service would refuse too; refusing here keeps the page honest about why
    return wanted


def dashboards_url() -> str | None:
    urls: dict[str, str] = current_app.config["SERVICE_URLS"]
    return current_app.config["WEB"].extra.get("dashboards_public_url") or urls.get("dashboards")


def errors_of(form: FlaskForm) -> dict[str, str]:
    return {name: messages[0] for name, messages in form.errors.items() if name != "csrf_token" and messages}


# -- the start page for every staff role ------------------------------------------------------
@staff.get("/arbetsyta")
@staff_only()
def start() -> Any:
    """What this person may use, by role: the workspace pages and the dashboards."""
    return render_template("staff_start.html", roles=roles(), departments=my_departments())


# -- the brukarbank ---------------------------------------------------------------------------
# The page's filters (query names) and the participants API's names for them.
BANK_FILTERS = {"q": "q", "ready": "ready", "contact": "contact_status", "consent": "consent", "language": "language"}
CONTACT_STATUSES = ("available", "cooldown", "paused", "do_not_contact", "opted_out")
# Languages offered in the filter: the ones most people in the banks speak; any other stays choosable once chosen.
BANK_LANGUAGES = ("ar", "bs", "en", "fa", "fi", "ku", "pl", "so", "sv", "ti")


def _bank_query(args: dict[str, str]) -> dict[str, str]:
    """The page's filters as the participants API takes them (empty ones left out)."""
    query = {BANK_FILTERS[k]: v for k, v in args.items() if v and k != "ready"}
    if args.get("ready") in ("yes", "no"):
        query["ready"] = "true" if args["ready"] == "yes" else "false"
    return query


@staff.get("/brukarbank")
@staff_only("coordinator", "administrator")
def bank() -> Any:
    """The department's bank: filtered by the participants API, one page at a time with its
    cursor; names read (and logged) for this page only."""
    department = chosen_department()
    args = {k: request.args.get(k, "").strip() for k in BANK_FILTERS}
    cursor = request.args.get("cursor", "")
    try:
        found = backend.get("participants", "/participants", department=department, limit=PAGE_SIZE,
                            **({"cursor": cursor} if cursor else {}), **_bank_query(args))
    except Refused:
        abort(400)  # an address this page never makes (a changed cursor or filter)
    shown: list[dict[str, Any]] = found["items"]
    for person in shown:
        try:
            person["name"] = backend.get("participants", f"/participants/{person['id']}", purpose=READ_PURPOSE)["name"]
        except NotFound:
            person["name"] = None  # erased meanwhile

    def page_url(next_cursor: str | None) -> str:
        values: dict[str, Any] = {**{k: v for k, v in args.items() if v}, "department": department}
        if next_cursor:
            values["cursor"] = next_cursor
        return url_for("staff.bank", **values)

    languages = sorted({*BANK_LANGUAGES, *([args["language"]] if args["language"] else [])})
    return render_template("staff_bank.html", people=shown, next_cursor=found["next_cursor"], first=not cursor,
                           page_url=page_url, args=args, department=department, departments=my_departments(),
                           languages=languages, statuses=CONTACT_STATUSES, purposes=PURPOSES)


def register_form(departments: list[str]) -> FlaskForm:
    class RegisterForm(FlaskForm):
        name = StringField(validators=[DataRequired(tr("staff_name_required")), Length(max=200)])
        email = StringField(validators=[Optional(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                                           message=tr("email_invalid"))])
        phone = StringField(validators=[Optional(), Regexp(r"^\+?[0-9 ()-]{5,20}$", message=tr("phone_invalid"))])
        preferred_language = RadioField(choices=[("sv", tr("language_sv")), ("en", tr("language_en"))], default="sv")
        department = SelectField(choices=[(d, d) for d in departments])
        consent_recruitment = BooleanField()
        consent_matching = BooleanField()
        consent_research = BooleanField()
        consent_contact = BooleanField()

    return RegisterForm()


@staff.route("/brukarbank/ny", methods=["GET", "POST"])
@staff_only("coordinator", "administrator")
def register() -> Any:
    """Register a person in one of my departments, with the consents they gave."""
    form = register_form(my_departments())
    if form.validate_on_submit():
        data = form.data
        department = data["department"]
        if department not in my_departments():
            abort(403)
        try:
            created = backend.post("participants", "/participants", {
                "name": data["name"], "email": data["email"] or None, "phone": data["phone"] or None,
                "preferred_language": data["preferred_language"] or "sv", "departments": [department]})
            for purpose in PURPOSES:
                if data[f"consent_{purpose}"]:
                    backend.post("participants", f"/participants/{created['id']}/consents",
                                 {"purpose": purpose, "department": department})
        except Refused as error:
            errors = {**errors_of(form), error.field or "name": tr("refused", detail=error.detail)}
            return render_template("staff_register.html", form=form, errors=errors), 422
        flash(tr("staff_registered"))
        return redirect(url_for("staff.person", pid=created["id"], department=department))
    status = 400 if form.is_submitted() else 200
    return render_template("staff_register.html", form=form, errors=errors_of(form)), status


@staff.get("/brukarbank/<uuid:pid>")
@staff_only("coordinator", "administrator")
def person(pid: UUID) -> Any:
    """One person: consents, readiness, availability, contact status, limits and honoraria."""
    department = chosen_department()
    record = backend.get("participants", f"/participants/{pid}", purpose=READ_PURPOSE)
    consents = [c.split(":", 1) for c in record["consents"]]
    eligibility = _optional("participants", f"/participants/{pid}/eligibility", department=department)
    honoraria = _optional("participants", f"/participants/{pid}/honoraria", year=datetime.now(UTC).year)
    return render_template("staff_person.html", person=record, consents=consents, department=department,
                           eligibility=eligibility, honoraria=honoraria)


def _optional(service: str, path: str, **params: Any) -> Any:
    """A part of a page that may not exist for this person (yet): shown as missing, not an error."""
    try:
        return backend.get(service, path, **params)
    except (NotFound, Refused):
        return None


# -- recruitments -------------------------------------------------------------------------------
def lacks(rec: dict[str, Any]) -> list[str]:
    """What the model still lacks for this recruitment, as text keys, cheapest checks first."""
    missing: list[str] = []
    needed = int((rec.get("needs") or {}).get("panel_size") or 0)
    if not rec["panel"]:
        missing.append("lack_no_panel")
    elif needed and len(rec["panel"]) < needed:
        missing.append("lack_panel_short")
    # How many candidates have fewer scores than the panel has seats: a field of the list and of
    # the recruitment (a read model), so a card costs no request per candidate.
    if rec["stage"] in ("interviewing", "decided") and rec["candidates"] and rec["panel"] and rec.get("unscored"):
        missing.append("lack_scores")
    if rec["stage"] in ("decided", "closed"):
        outcome = _optional("recruitments", f"/recruitments/{rec['id']}/outcome")
        if outcome is None or not outcome.get("shared_with"):
            missing.append("lack_outcome_not_shared")
        feedback = _optional("recruitments", f"/recruitments/{rec['id']}/feedback")
        if feedback is not None and not feedback.get("participants"):
            missing.append("lack_feedback")
    return missing


@staff.get("/rekryteringar")
@staff_only("coordinator", "hiring_manager", "administrator")
def board() -> Any:
    """The recruitments I may see, a page at a time (the API's cursor), as a board by stage;
    each card says what is still missing."""
    cursor = request.args.get("cursor") or None
    try:
        page = backend.get("recruitments", "/recruitments", limit=BOARD_PAGE,
                           **({"cursor": cursor} if cursor else {}))
    except Refused:
        return redirect(url_for("staff.board"))  # a cursor that is no longer (or never was) ours
    columns: dict[str, list[dict[str, Any]]] = {stage: [] for stage in STAGES}
    for rec in page["items"]:
        rec["lacks"] = lacks(rec)
        columns.setdefault(rec["stage"], []).append(rec)
    return render_template("staff_board.html", columns=columns, next_cursor=page["next_cursor"],
                           paged=cursor is not None)


@staff.get("/rekryteringar/<uuid:rid>")
@staff_only("coordinator", "hiring_manager", "administrator")
def recruitment(rid: UUID) -> Any:
    """One recruitment: its plan, panel, candidates and what is missing."""
    rec = backend.get("recruitments", f"/recruitments/{rid}")
    rec["lacks"] = lacks(rec)
    names = {}
    if set(roles()) & {"coordinator", "administrator"}:
        for pid in rec["panel"]:
            try:
                names[pid] = backend.get("participants", f"/participants/{pid}", purpose=READ_PURPOSE)["name"]
            except (NotFound, Refused):
                names[pid] = None
    candidates = backend.items("recruitments", f"/recruitments/{rid}/candidates")
    coordinator = bool(set(roles()) & {"coordinator", "administrator"})
    try:
        invitations = backend.get("matching", f"/recruitments/{rid}/invitations")
    except (NotFound, Refused, Forbidden):
        invitations = None  # not this caller's to follow (another hiring manager's), or not known yet
    if invitations and coordinator:
        seated = {i["participant_id"] for seat in invitations["seats"] for i in seat["invitations"]}
        names.update(_names(sorted(seated - set(names))))
    return render_template("staff_recruitment.html", rec=rec, names=names, candidates=candidates,
                           coordinator=coordinator, invitations=invitations)


# -- a recruitment's panel: proposal, explanations, assignment with overrides, replacements ----
def coordinator_only(view: F) -> F:
    return staff_only("coordinator", "administrator")(view)


def _names(ids: list[str]) -> dict[str, str | None]:
    """Names for a page, each a logged read; None for someone erased or not this caller's."""
    out: dict[str, str | None] = {}
    for pid in ids:
        try:
            out[pid] = backend.get("participants", f"/participants/{pid}", purpose=READ_PURPOSE)["name"]
        except (NotFound, Refused):
            out[pid] = None
    return out


def _proposal_page(rid: UUID, rec: dict[str, Any], proposal: dict[str, Any], errors: dict[str, str],
                   picked: list[str], reasons: dict[str, str], status: int = 200) -> Any:
    """The proposal with each person's explanation, and the first others of the bank with why not:
    one page of the bank and one explanation per person shown, so the cost stays bounded however
    large the bank grows."""
    proposed = [m["participant_id"] for m in proposal["members"]]
    page = backend.get("participants", "/participants", department=rec["department"],
                       limit=min(MAX_API_PAGE, OTHERS_SHOWN + len(proposed)))
    outside = [p["id"] for p in page["items"] if p["id"] not in proposed]
    others = []
    for pid in outside[:OTHERS_SHOWN]:
        explanation = _optional("matching", f"/recruitments/{rid}/candidates/{pid}/explanation")
        if explanation is not None:
            others.append(explanation)
    more = bool(page["next_cursor"]) or len(outside) > OTHERS_SHOWN
    names = _names(proposed + [o["participant_id"] for o in others])
    return render_template("staff_proposal.html", rec=rec, proposal=proposal, others=others, names=names,
                           errors=errors, picked=picked or proposed, reasons=reasons, more=more,
                           others_shown=OTHERS_SHOWN), status


@staff.post("/rekryteringar/<uuid:rid>/forslag")
@coordinator_only
def propose(rid: UUID) -> Any:
    """Ask matching for a proposal (a form with only its CSRF token) and show it to decide on."""
    rec = backend.get("recruitments", f"/recruitments/{rid}")
    try:
        proposal = backend.post("matching", f"/recruitments/{rid}/proposals", {})
    except Refused as error:
        flash(tr("refused", detail=error.detail))
        return redirect(url_for("staff.recruitment", rid=rid))
    # Only pseudonymous ids, scores and rule texts: the proposal waits in the session for the assignment.
    session["proposal"] = {"rid": str(rid), **proposal}
    return _proposal_page(rid, rec, proposal, {}, [], {})


@staff.post("/rekryteringar/<uuid:rid>/panel")
@coordinator_only
def assign(rid: UUID) -> Any:
    """Assign the picked people; anyone a soft rule excludes needs a reason (the service checks too)."""
    rec = backend.get("recruitments", f"/recruitments/{rid}")
    proposal = session.get("proposal") or {}
    if proposal.get("rid") != str(rid):
        return redirect(url_for("staff.recruitment", rid=rid))
    picked = [p for p in request.form.getlist("member") if _is_uuid(p)]
    reasons = {pid: request.form.get(f"reason-{pid}", "").strip() for pid in picked}
    errors: dict[str, str] = {}
    if not picked:
        errors["member"] = tr("assign_pick_someone")
    proposed = {m["participant_id"] for m in proposal["members"]}
    for pid in picked:
        if pid in proposed:
            continue
        explanation = _optional("matching", f"/recruitments/{rid}/candidates/{pid}/explanation") or {}
        if explanation.get("excluded_by") and len(reasons[pid]) < 3:
            errors[f"reason-{pid}"] = tr("assign_reason_required", why=explanation.get("explanation", ""))
    if errors:
        return _proposal_page(rid, rec, proposal, errors, picked, reasons, 400)
    overrides = [{"participant_id": pid, "reason": reason} for pid, reason in reasons.items()
                 if pid not in proposed and reason]
    try:
        result = backend.post("matching", f"/recruitments/{rid}/panel",
                              {"proposal_id": proposal["proposal_id"], "members": picked, "overrides": overrides})
    except Refused as error:
        return _proposal_page(rid, rec, proposal, {"member": tr("refused", detail=error.detail)}, picked, reasons, 409)
    session.pop("proposal", None)
    flash(tr("assigned", count=len(result["members"]), overrides=len(result["overrides"])))
    return redirect(url_for("staff.recruitment", rid=rid))


@staff.post("/rekryteringar/<uuid:rid>/ersatt")
@coordinator_only
def replace(rid: UUID) -> Any:
    """A member drops out: matching seats the next best; the page says who."""
    pid = request.form.get("participant_id", "")
    reason = request.form.get("reason", "").strip()
    if not _is_uuid(pid) or len(reason) < 3:
        flash(tr("replace_reason_required"))
        return redirect(url_for("staff.recruitment", rid=rid))
    try:
        result = backend.post("matching", f"/recruitments/{rid}/panel/replacements",
                              {"participant_id": pid, "reason": reason})
    except Refused as error:
        flash(tr("refused", detail=error.detail))
        return redirect(url_for("staff.recruitment", rid=rid))
    name = _names([result["replacement"]]).get(result["replacement"]) or "-"
    flash(tr("replaced", name=name, why=result.get("explanation", "")))
    return redirect(url_for("staff.recruitment", rid=rid))


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


# -- the hiring manager: who said what, the decision, sharing the outcome --------------------------
def decision_form() -> FlaskForm:
    class DecisionForm(FlaskForm):
        motivation = TextAreaField(validators=[DataRequired(tr("motivation_required")),
                                               Length(min=3, max=4000, message=tr("motivation_required"))])
        deviation_reason = TextAreaField(validators=[Optional(), Length(max=4000)])

    return DecisionForm()


def send_decision(rid: UUID | str, cid: str, form: FlaskForm) -> dict[str, str] | None:
    """Send the decision form to the service; ``None`` when made, else the message beside its field
    (the service's own refusal: a deviation reason is needed against the users' recommendation)."""
    try:
        backend.post("recruitments", f"/recruitments/{rid}/decision",
                     {"candidate_id": cid, "motivation": form.motivation.data,  # type: ignore[attr-defined]
                      "deviation_reason": (form.deviation_reason.data or "").strip() or None})  # type: ignore[attr-defined]
    except Refused as error:
        name = error.field if error.field in ("motivation", "deviation_reason") else "motivation"
        return {name: tr("deviation_required") if name == "deviation_reason" else tr("refused", detail=error.detail)}
    return None


def _candidate_page(rid: UUID, cid: str, form: FlaskForm, errors: dict[str, str], status: int = 200) -> Any:
    rec = backend.get("recruitments", f"/recruitments/{rid}")
    candidate = next((c for c in backend.items("recruitments", f"/recruitments/{rid}/candidates")
                      if c["id"] == cid), None)
    if candidate is None:
        abort(404)
    summary = _optional("recruitments", f"/recruitments/{rid}/candidates/{cid}/summary")
    users = summary.get("participants_recommendation") if summary else None
    against = users is not None and users != "hire"
    may_decide = session.get("sub") == rec["hiring_manager"] and rec.get("decision") is None
    return render_template("staff_candidate.html", rec=rec, candidate=candidate, summary=summary, form=form,
                           errors=errors, users_recommendation=users, against=against, may_decide=may_decide), status


@staff.get("/rekryteringar/<uuid:rid>/kandidater/<cid>")
@staff_only("coordinator", "hiring_manager", "administrator")
def candidate(rid: UUID, cid: str) -> Any:
    """Who said what (users vs staff per focus attribute) and, for the hiring manager, the decision."""
    return _candidate_page(rid, cid, decision_form(), {})


@staff.post("/rekryteringar/<uuid:rid>/kandidater/<cid>")
@staff_only("hiring_manager")
def decide(rid: UUID, cid: str) -> Any:
    """The decision: a motivation always; a deviation reason when it goes against the users (the
    service refuses without one, and its refusal is shown beside that field)."""
    form = decision_form()
    if not form.validate_on_submit():
        return _candidate_page(rid, cid, form, errors_of(form), 400)
    refused = send_decision(rid, cid, form)
    if refused:
        return _candidate_page(rid, cid, form, {**errors_of(form), **refused}, 422)
    flash(tr("decided"))
    return redirect(url_for("staff.recruitment", rid=rid))


@staff.post("/rekryteringar/<uuid:rid>/utfall")
@staff_only("coordinator", "hiring_manager", "administrator")
def share(rid: UUID) -> Any:
    """Share the outcome with the panel: each member then sees it on their own page."""
    try:
        shared = backend.post("recruitments", f"/recruitments/{rid}/outcome/share")
    except Refused as error:
        flash(tr("refused", detail=error.detail))
        return redirect(url_for("staff.recruitment", rid=rid))
    count = len(shared.get("shared_with", [])) if isinstance(shared, dict) else len(shared or [])
    flash(tr("outcome_shared", count=count))
    return redirect(url_for("staff.recruitment", rid=rid))


# -- honoraria: approval per person and period, the payroll file, payments, tax flags ----------------
def _period() -> str:
    period = request.values.get("period") or datetime.now(UTC).strftime("%Y-%m")
    try:
        datetime.strptime(period, "%Y-%m")
    except ValueError:
        abort(400)
    return period


def _by_state(person: dict[str, Any], accruals: list[dict[str, Any]]) -> dict[str, Any]:
    """A person's accruals of the period as the page groups them: to approve, to pay, paid."""
    return {**person, "accruals": accruals,
            "pending": [a for a in accruals if not a["approved"]],
            "payable": [a for a in accruals if a["approved"] and a["payroll_ref"] is None],
            "paid": [a for a in accruals if a["payroll_ref"] is not None]}


def _ledger(pid: str, department: str, period: str) -> dict[str, Any] | None:
    """One person's accruals of this department in this period, with the year's flags."""
    try:
        honoraria = backend.get("participants", f"/participants/{pid}/honoraria", year=int(period[:4]))
    except (NotFound, Refused, Forbidden):
        current_app.logger.warning("honoraria of %s not readable for this coordinator", pid)  # pseudonymous id
        return None
    # Only this department's accruals: a person in two banks has the other's pay on the other's page.
    accruals = [a for a in honoraria["accruals"]
                if a["department"] == department and a["accrued_on"].startswith(period)]
    return _by_state({"id": pid, "flags": honoraria["flags"], "payment_declined": honoraria["payment_declined"]},
                     accruals)


@staff.get("/arvoden-att-betala")
@coordinator_only
def honoraria() -> Any:
    """The people with honoraria of the department in the period, to approve and to pay: one page
    of the participants' honoraria read model at a time, with its cursor."""
    department, period = chosen_department(), _period()
    cursor = request.args.get("cursor", "")
    try:
        found = backend.get("participants", "/honoraria", department=department, period=period, limit=PAGE_SIZE,
                            **({"cursor": cursor} if cursor else {}))
    except Refused:
        abort(400)  # an address this page never makes (a changed cursor)
    people = [_by_state({"id": p["participant_id"], "flags": p["flags"], "payment_declined": p["payment_declined"],
                         "year_totals": p["year_totals"]}, p["accruals"]) for p in found["items"]]
    # The person just approved or paid is read from their own record (one load), so the page
    # shows the change even before the read model has caught up with it.
    changed = request.args.get("changed", "")
    if _is_uuid(changed):
        for i, person in enumerate(people):
            if person["id"] == changed and (fresh := _ledger(changed, department, period)) is not None:
                people[i] = {**fresh, "year_totals": person["year_totals"]}
    names = _names([p["id"] for p in people])

    def page_url(next_cursor: str | None) -> str:
        values: dict[str, Any] = {"department": department, "period": period}
        if next_cursor:
            values["cursor"] = next_cursor
        return url_for("staff.honoraria", **values)

    return render_template("staff_honoraria.html", people=people, names=names, department=department,
                           period=period, departments=my_departments(), next_cursor=found["next_cursor"],
                           first=not cursor, page_url=page_url)


def _person_ledger() -> tuple[str, str, str, dict[str, Any]]:
    department, period = chosen_department(), _period()
    pid = request.form.get("participant_id", "")
    if not _is_uuid(pid):
        abort(400)
    ledger = _ledger(pid, department, period)
    if ledger is None:
        abort(404)
    return pid, department, period, ledger


@staff.post("/arvoden-att-betala/godkann")
@coordinator_only
def approve() -> Any:
    """Approve one person's pending accruals of this department and period."""
    pid, department, period, ledger = _person_ledger()
    refs = [a["activity_ref"] for a in ledger["pending"]]
    if refs:
        try:
            backend.post("participants", f"/participants/{pid}/honoraria/approval", {"accrual_refs": refs})
        except Refused as error:
            flash(tr("refused", detail=error.detail))
            return redirect(url_for("staff.honoraria", department=department, period=period, changed=pid))
    flash(tr("approved_count", count=len(refs)))
    return redirect(url_for("staff.honoraria", department=department, period=period, changed=pid))


@staff.post("/arvoden-att-betala/utbetalning")
@coordinator_only
def record_payment() -> Any:
    """Payroll paid one person's approved accruals of this period: record it with its reference."""
    pid, department, period, ledger = _person_ledger()
    payroll_ref = request.form.get("payroll_ref", "").strip()
    refs = [a["activity_ref"] for a in ledger["payable"]]
    if not payroll_ref or len(payroll_ref) > 100 or not refs:
        flash(tr("payment_ref_required") if refs else tr("payment_nothing"))
        return redirect(url_for("staff.honoraria", department=department, period=period, changed=pid))
    try:
        paid = backend.post("participants", "/honoraria/payments",
                            {"participant_id": pid, "period": period, "payroll_ref": payroll_ref, "accrual_refs": refs})
    except Refused as error:
        flash(tr("refused", detail=error.detail))
        return redirect(url_for("staff.honoraria", department=department, period=period, changed=pid))
    flash(tr("payment_recorded", amount=int(paid["amount_ore"]) // 100))
    return redirect(url_for("staff.honoraria", department=department, period=period, changed=pid))


@staff.get("/arvoden-att-betala/lonefil.csv")
@coordinator_only
def payroll_file() -> Any:
    """The payroll export for my department, as the participants service makes it (pseudonymous)."""
    department, period = chosen_department(), _period()
    answer = backend.call("GET", "participants", "/honoraria/payroll-export",
                          params={"department": department, "period": period}, raw=True)
    return Response(answer.content, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="lonefil-{department}-{period}.csv"'})


# -- the fairness report ------------------------------------------------------------------------
CHART_WIDTH = 400  # the SVG's drawing width; bars scale to the longest wait


@staff.get("/rattvisa")
@staff_only("coordinator", "administrator", "auditor", "researcher")
def fairness() -> Any:
    """Rotation, longest waiting and share engaged, with a bar chart and the same figures as a table.
    Names only for coordinators (a logged read); auditors and researchers see pseudonymous ids."""
    department = chosen_department()
    report = backend.get("matching", f"/departments/{department}/fairness")
    waiting = report.get("longest_waiting", [])[:10]
    longest = max([w["days_waiting"] or 0 for w in waiting] + [1])
    names = _names([w["participant_id"] for w in waiting]) if set(roles()) & {"coordinator", "administrator"} else {}
    bars = [{"label": names.get(w["participant_id"]) or w["participant_id"][:8],
             "days": w["days_waiting"], "last": w["last_engaged_on"],
             "width": max(2, round(CHART_WIDTH * (w["days_waiting"] or longest) / longest))} for w in waiting]
    return render_template("staff_fairness.html", report=report, bars=bars, department=department,
                           departments=my_departments(), chart_width=CHART_WIDTH)
