"""The hiring manager's workspace and the applicant's page.

A hiring manager opens a recruitment (they become its hiring manager), co-writes the job
description, the advert and the text on how service users take part (each contribution kept
with who wrote it), reads applications with the users' assessments, scores candidates like the
panel, reads who said what beside their own assessment, decides (the service requires a
deviation reason against the users' recommendation), shares the outcome, gives feedback and
follows up the hire; the Discrimination Act 2:4 extract prints without script.

The applicant's page is public: published adverts, read from the recruitments service's public
endpoint without any token, with what the service users' part in the recruitment is.

As in ``staff.py``, every read and command goes through the services' APIs with the signed-in
person's token: the services' department scoping decides what a page can show.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import requests
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.exceptions import Forbidden, NotFound, ServiceUnavailable
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from services.web import backend
from services.web.backend import Refused
from services.web.forms import confirm_form, feedback_form, score_form, tr
from services.web.staff import decision_form, errors_of, my_departments, send_decision, staff_only

hiring = Blueprint("hiring", __name__)

MOTIVATION_KEY = "motivation_user_participation"  # the recruitments service requires it first
TEXT_KINDS = {"job_description": "job-description", "advert": "advert", "participation": "participation-text"}
FOLLOW_UPS = (6, 12)
PUBLIC_PAGE_SIZE = 20

manager_only = staff_only("hiring_manager")


def me() -> str:
    return str(session.get("sub", ""))


def today() -> date:
    return datetime.now(UTC).date()


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def part(service: str, path: str, **params: Any) -> Any:
    """A part of a page that may not exist for this person (yet): ``None``, not an error."""
    try:
        return backend.get(service, path, **params)
    except (NotFound, Forbidden, Refused):
        return None


# -- what is due next ------------------------------------------------------------------------------
def due_next(rec: dict[str, Any], feedback: dict[str, Any] | None, on: date) -> list[tuple[str, dict[str, Any]]]:
    """The next steps of one recruitment for its hiring manager, as text keys with their values:
    the model's order (texts, panel, scores, decision, outcome, feedback) and the follow-ups that
    are due (6 and 12 months after the decision)."""
    if rec["stage"] == "drafting":
        return [("next_write", {})]
    if not rec["panel"]:
        return [("next_panel", {})]
    decision = rec.get("decision")
    if decision is None:
        return [("next_scores", {})] if not rec["candidates"] else [("next_decide", {})]
    steps: list[tuple[str, dict[str, Any]]] = []
    if rec.get("outcome_shared") is False:
        steps.append(("next_share", {}))
    if feedback is not None and feedback.get("manager") is None:
        steps.append(("next_feedback", {}))
    done = (feedback or {}).get("follow_ups") or {}
    for months in FOLLOW_UPS:
        due = add_months(date.fromisoformat(decision["decided_on"]), months)
        if str(months) not in done and due <= on:
            steps.append(("next_follow_up", {"months": months, "due": due.isoformat()}))
            break  # the 12-month one comes after the 6-month one
    return steps


def with_progress(rid: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A recruitment as its page needs it: the view, whether the outcome is shared, the feedback."""
    rec: dict[str, Any] = backend.get("recruitments", f"/recruitments/{rid}")
    feedback = None
    if rec.get("decision") is not None:
        outcome = part("recruitments", f"/recruitments/{rid}/outcome") or {}
        rec["outcome_shared"] = bool(outcome.get("shared_with"))
        feedback = part("recruitments", f"/recruitments/{rid}/feedback")
    return rec, feedback


@hiring.get("/chef")
@manager_only
def start() -> Any:
    """My recruitments, each with what is due next; follow-ups that are due listed as reminders."""
    # The list filtered by the API (its hiring-manager index): my recruitments, however many others'.
    mine = backend.get("recruitments", "/recruitments", hiring_manager=me())["items"]
    on = today()
    rows = []
    for item in mine:
        rec, feedback = with_progress(item["id"])
        rows.append({"rec": rec, "next": due_next(rec, feedback, on)})
    reminders = [(row["rec"], key, values) for row in rows for key, values in row["next"]
                 if key == "next_follow_up"]
    return render_template("hiring_start.html", rows=rows, reminders=reminders)


# -- opening a recruitment ---------------------------------------------------------------------------
def attribute_key(label: str, taken: set[str]) -> str:
    """A scorecard key from a label (``Bemötande och respekt`` → ``bemotande_och_respekt``), unique."""
    plain = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode("ascii").lower()
    key = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")[:50] or "omrade"
    if not key[0].isalpha():
        key = "a_" + key
    base, n = key, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    taken.add(key)
    return key


def lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def open_form(departments: list[str]) -> FlaskForm:
    class OpenForm(FlaskForm):
        position = StringField(validators=[DataRequired(tr("position_required")),
                                           Length(min=2, max=200, message=tr("position_required"))])
        unit = StringField(validators=[DataRequired(tr("unit_required")),
                                       Regexp(r"^[a-z0-9][a-z0-9-]{0,99}$", message=tr("unit_required"))])
        department = SelectField(choices=[(d, d) for d in departments])
        interview_format = RadioField(choices=[("joint", tr("open_format_joint")), ("split", tr("open_format_split"))],
                                      validators=[InputRequired(tr("format_required"))])
        attributes = TextAreaField(validators=[DataRequired(tr("attributes_required"))])
        experience_areas = TextAreaField(validators=[Optional(), Length(max=2000)])
        languages = StringField(default="sv", validators=[Optional(), Regexp(r"^[a-z]{2,3}(\s*,\s*[a-z]{2,3})*$",
                                                                              message=tr("languages_invalid"))])
        panel_size = RadioField(choices=[("1", "1"), ("2", "2"), ("3", "3")], default="3",
                                validators=[InputRequired(tr("choose_one"))])
        interviews_from = DateField(validators=[Optional()], format="%Y-%m-%d")
        interviews_to = DateField(validators=[Optional()], format="%Y-%m-%d")

        def validate_attributes(self, field: TextAreaField) -> None:
            from wtforms.validators import ValidationError

            if not 2 <= len(lines(field.data)) <= 5 or any(len(a) > 200 for a in lines(field.data)):
                raise ValidationError(tr("attributes_required"))

    form = OpenForm()
    for name in ("interviews_from", "interviews_to"):
        getattr(form, name).messages = tr("date_invalid")
    return form


def opening_body(data: dict[str, Any]) -> dict[str, Any]:
    """The recruitments API's body from the form: the motivation attribute first, then the manager's."""
    taken = {MOTIVATION_KEY}
    scorecard = [{"key": MOTIVATION_KEY, "label": tr("open_scorecard_first")}]
    scorecard += [{"key": attribute_key(label, taken), "label": label} for label in lines(data["attributes"])]
    languages = [code.strip() for code in (data["languages"] or "").split(",") if code.strip()]
    planned = {k: data[k].isoformat() if data[k] else None for k in ("interviews_from", "interviews_to")}
    return {"department": data["department"], "unit": data["unit"], "position": data["position"].strip(),
            "interview_format": data["interview_format"], "planned": planned, "scorecard": scorecard,
            "needs": {"experience_areas": lines(data["experience_areas"]), "languages": languages,
                      "panel_size": int(data["panel_size"])}}


@hiring.route("/chef/ny", methods=["GET", "POST"])
@manager_only
def open_recruitment() -> Any:
    """Open a recruitment in one of my departments, as its hiring manager."""
    form = open_form(my_departments())
    if form.validate_on_submit():
        body = opening_body(form.data)
        if body["department"] not in my_departments():
            abort(403)
        try:
            created = backend.post("recruitments", "/recruitments", body)
        except Refused as error:
            field = (error.field or "position").split(".")[0]
            name = field if field in form._fields else "position"
            return render_template("hiring_open.html", form=form,
                                   errors={name: tr("refused", detail=error.detail)}), 422
        flash(tr("opened"))
        return redirect(url_for("hiring.recruitment", rid=created["id"]), 303)
    status = 400 if form.is_submitted() else 200
    return render_template("hiring_open.html", form=form, errors=errors_of(form)), status


# -- one recruitment ------------------------------------------------------------------------------------
def text_form() -> FlaskForm:
    class TextForm(FlaskForm):
        text = TextAreaField(validators=[DataRequired(tr("text_required")), Length(max=4000)])

    return TextForm()


def publish_form(rec: dict[str, Any]) -> FlaskForm:
    published = rec.get("published_advert") or {}
    participation = rec.get("published_participation") or {}

    class PublishForm(FlaskForm):
        advert_text = TextAreaField(default=published.get("text") or "\n\n".join(c["text"] for c in rec["advert"]),
                                    validators=[DataRequired(tr("text_required")), Length(max=4000)])
        participation_text = TextAreaField(
            default=participation.get("text") or "\n\n".join(c["text"] for c in rec["participation_text"]),
            validators=[DataRequired(tr("text_required")), Length(max=4000)])

    return PublishForm()


def follow_up_form() -> FlaskForm:
    class FollowUpForm(FlaskForm):
        months = RadioField(choices=[(str(m), tr("follow_up_months_n", months=m)) for m in FOLLOW_UPS],
                            validators=[InputRequired(tr("choose_one"))])
        still_employed = RadioField(choices=[("yes", tr("follow_up_employed_yes")),
                                             ("no", tr("follow_up_employed_no"))],
                                    validators=[InputRequired(tr("choose_one"))])
        motivation_rating = RadioField(choices=[(str(n), str(n)) for n in range(1, 6)], validators=[Optional()])

    return FollowUpForm()


def _recruitment_page(rid: UUID, errors: dict[str, str] | None = None, forms: dict[str, FlaskForm] | None = None,
                      status: int = 200) -> Any:
    rec, feedback = with_progress(str(rid))
    candidates = backend.items("recruitments", f"/recruitments/{rid}/candidates")  # one recruitment's, all pages
    forms = {**{kind: text_form() for kind in TEXT_KINDS}, "publish": publish_form(rec),
             "feedback": feedback_form(), "follow_up": follow_up_form(), **(forms or {})}
    return render_template("hiring_recruitment.html", rec=rec, feedback=feedback, candidates=candidates,
                           forms=forms, errors=errors or {}, kinds=list(TEXT_KINDS), my_id=me(),
                           next_steps=due_next(rec, feedback, today()),
                           follow_ups=follow_up_status(rec, feedback)), status


def follow_up_status(rec: dict[str, Any], feedback: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each follow-up: when it is due and whether it is recorded."""
    if rec.get("decision") is None:
        return []
    done = (feedback or {}).get("follow_ups") or {}
    decided = date.fromisoformat(rec["decision"]["decided_on"])
    return [{"months": m, "due": add_months(decided, m).isoformat(), "done": str(m) in done,
             "is_due": add_months(decided, m) <= today()} for m in FOLLOW_UPS]


@hiring.get("/chef/rekryteringar/<uuid:rid>")
@manager_only
def recruitment(rid: UUID) -> Any:
    """The texts with who wrote what, publishing, applications and assessments, the decision's
    aftermath (outcome, feedback, follow-ups)."""
    return _recruitment_page(rid)


def _command(rid: UUID, key: str, form: FlaskForm, path: str, body: Callable[[], dict[str, Any]],
             field: str, done: Callable[[Any], str]) -> Any:
    """One form of the recruitment page sent as one command: its errors beside the form (the
    service's refusal beside ``field``), or back to the page saying ``done(answer)``."""
    if not form.validate_on_submit():
        return _recruitment_page(rid, errors_of(form), {key: form}, 400)
    try:
        answer = backend.post("recruitments", f"/recruitments/{rid}{path}", body())
    except Refused as error:
        return _recruitment_page(rid, {field: tr("refused", detail=error.detail)}, {key: form}, 409)
    flash(done(answer))
    return redirect(url_for("hiring.recruitment", rid=rid), 303)


@hiring.post("/chef/rekryteringar/<uuid:rid>/text/<kind>")
@manager_only
def contribute(rid: UUID, kind: str) -> Any:
    """Add my contribution to one of the three co-written texts."""
    if kind not in TEXT_KINDS:
        abort(404)
    form: Any = text_form()
    if form.is_submitted() and not (form.text.data or "").strip():
        # The three text areas share one field name; the error goes beside this section's.
        return _recruitment_page(rid, {f"{kind}-text": tr("text_required")}, {kind: form}, 400)
    return _command(rid, kind, form, f"/{TEXT_KINDS[kind]}/contributions", lambda: {"text": form.text.data},
                    f"{kind}-text", lambda _answer: tr("contributed"))


@hiring.post("/chef/rekryteringar/<uuid:rid>/publicera")
@manager_only
def publish(rid: UUID) -> Any:
    """Publish the advert together with how service users take part (both are required here)."""
    form: Any = publish_form(backend.get("recruitments", f"/recruitments/{rid}"))
    return _command(rid, "publish", form, "/advert/publish",
                    lambda: {"text": form.advert_text.data, "participation_text": form.participation_text.data},
                    "advert_text", lambda answer: tr("published", version=answer["version"]))


@hiring.post("/chef/rekryteringar/<uuid:rid>/utfall")
@manager_only
def share(rid: UUID) -> Any:
    """Tell the panel what their input led to."""
    try:
        shared = backend.post("recruitments", f"/recruitments/{rid}/outcome/share")
    except Refused as error:
        flash(tr("refused", detail=error.detail))
        return redirect(url_for("hiring.recruitment", rid=rid), 303)
    flash(tr("outcome_shared", count=len(shared.get("shared_with") or [])))
    return redirect(url_for("hiring.recruitment", rid=rid), 303)


@hiring.post("/chef/rekryteringar/<uuid:rid>/aterkoppling")
@manager_only
def give_feedback(rid: UUID) -> Any:
    """Effect goal 2: what the service users' participation added to my decision."""
    form: Any = feedback_form()
    return _command(rid, "feedback", form, "/feedback/manager",
                    lambda: {"rating": int(form.rating.data), "text": form.text.data},
                    "text", lambda _answer: tr("manager_feedback_given"))


@hiring.post("/chef/rekryteringar/<uuid:rid>/uppfoljning")
@manager_only
def follow_up(rid: UUID) -> Any:
    """The hire at 6 or 12 months (effect goal 1); the service keeps their order."""
    form: Any = follow_up_form()

    def body() -> dict[str, Any]:
        rating = form.motivation_rating.data
        return {"months": int(form.months.data), "still_employed": form.still_employed.data == "yes",
                "motivation_rating": int(rating) if rating and rating != "None" else None}

    return _command(rid, "follow_up", form, "/follow-ups", body, "months", lambda _answer: tr("follow_up_saved"))


# -- one candidate: my assessment, who said what, the decision -------------------------------------------
def manager_score_form(scorecard: list[dict[str, str]]) -> FlaskForm:
    """The panel's scorecard with the conflict-of-interest declaration in front of it."""
    panel_form = type(score_form(scorecard))
    form_class = type("ManagerScoreForm", (panel_form,), {
        "no_conflict": BooleanField(validators=[DataRequired(tr("no_conflict_required"))])})
    form: FlaskForm = form_class()
    return form


def _find_candidate(rid: UUID, cid: str) -> dict[str, Any]:
    candidate: dict[str, Any] | None = next(
        (c for c in backend.items("recruitments", f"/recruitments/{rid}/candidates") if c["id"] == cid), None)
    if candidate is None:
        abort(404)
    return candidate


def _candidate_page(rid: UUID, cid: str, forms: dict[str, FlaskForm] | None = None,
                    errors: dict[str, str] | None = None, status: int = 200) -> Any:
    rec = backend.get("recruitments", f"/recruitments/{rid}")
    candidate = _find_candidate(rid, cid)
    scores = backend.get("recruitments", f"/recruitments/{rid}/candidates/{cid}/scores")
    own = next((s for s in scores["scores"] if s["member"]["id"] == me()), None)
    summary = part("recruitments", f"/recruitments/{rid}/candidates/{cid}/summary")
    if summary and own is None and rec["interview_format"] == "joint" and rec.get("decision") is None:
        summary = None  # in a joint interview the manager interviews too: their own view first (anchoring)
    users = summary.get("participants_recommendation") if summary else None
    forms = {"score": manager_score_form(rec["scorecard"]), "decision": decision_form(), **(forms or {})}
    return render_template("hiring_candidate.html", rec=rec, candidate=candidate, own=own, summary=summary,
                           forms=forms, errors=errors or {}, users_recommendation=users,
                           declaration=scores.get("own_declaration"),
                           against=users is not None and users != "hire",
                           may_decide=rec["hiring_manager"] == me() and rec.get("decision") is None), status


@hiring.get("/chef/rekryteringar/<uuid:rid>/kandidater/<cid>")
@manager_only
def candidate(rid: UUID, cid: str) -> Any:
    """My own assessment, who said what beside it, and the decision."""
    return _candidate_page(rid, cid)


@hiring.post("/chef/rekryteringar/<uuid:rid>/kandidater/<cid>/bedomning")
@manager_only
def score(rid: UUID, cid: str) -> Any:
    """Declare no conflict of interest and score the candidate like the panel."""
    rec = backend.get("recruitments", f"/recruitments/{rid}")
    form = manager_score_form(rec["scorecard"])
    if not form.validate_on_submit():
        return _candidate_page(rid, cid, {"score": form}, errors_of(form), 400)
    base = f"/recruitments/{rid}/candidates/{cid}"
    body = {"scores": {a["key"]: int(getattr(form, f"attr_{a['key']}").data) for a in rec["scorecard"]},
            "recommendation": form.recommendation.data,  # type: ignore[attr-defined]
            "comment": form.comment.data or None}  # type: ignore[attr-defined]
    try:
        try:
            backend.post("recruitments", base + "/conflicts", {"has_conflict": False})
        except Refused as error:
            if "already declared" not in error.detail:
                raise
        backend.post("recruitments", base + "/scores", body)
    except Refused as error:
        return _candidate_page(rid, cid, {"score": form}, {"recommendation": tr("refused", detail=error.detail)}, 409)
    flash(tr("manager_scored"))
    return redirect(url_for("hiring.candidate", rid=rid, cid=cid), 303)


@hiring.route("/chef/rekryteringar/<uuid:rid>/kandidater/<cid>/jav", methods=["GET", "POST"])
@manager_only
def recuse(rid: UUID, cid: str) -> Any:
    """I know the candidate: check the answer and what it means, then declare the conflict of
    interest and step aside for this candidate (the service then refuses my score for them and
    hides the panel's from me)."""
    rec = backend.get("recruitments", f"/recruitments/{rid}")
    candidate = _find_candidate(rid, cid)
    form = confirm_form()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            # One key per manager and candidate: a second click replays the first answer.
            backend.post("recruitments", f"/recruitments/{rid}/candidates/{cid}/conflicts", {"has_conflict": True},
                         idempotency_key=f"recusal:{rid}:{cid}")
        except Refused as error:
            errors = {"recuse": tr("conflict_already") if "already declared" in error.detail
                      else tr("refused", detail=error.detail)}
        else:
            flash(tr("recused_saved"))
            return redirect(url_for("hiring.candidate", rid=rid, cid=cid), 303)
    return render_template("hiring_recuse.html", rec=rec, candidate=candidate, form=form, errors=errors), (
        409 if errors else 200)


@hiring.post("/chef/rekryteringar/<uuid:rid>/kandidater/<cid>/beslut")
@manager_only
def decide(rid: UUID, cid: str) -> Any:
    """The decision: a motivation always; against the users' recommendation, a reason (the service
    refuses without one, and its refusal is shown beside that field)."""
    form = decision_form()
    if not form.validate_on_submit():
        return _candidate_page(rid, cid, {"decision": form}, errors_of(form), 400)
    refused = send_decision(rid, cid, form)
    if refused:
        return _candidate_page(rid, cid, {"decision": form}, refused, 422)
    flash(tr("decided"))
    return redirect(url_for("hiring.recruitment", rid=rid), 303)


@hiring.get("/chef/rekryteringar/<uuid:rid>/kandidater/<cid>/utdrag")
@manager_only
def extract(rid: UUID, cid: str) -> Any:
    """The Discrimination Act 2:4 extract for a rejected applicant, as a page to print."""
    try:
        answer = backend.get("recruitments", f"/recruitments/{rid}/merits-extract", candidate_id=cid)
    except Refused as error:
        flash(tr("refused", detail=error.detail))
        return redirect(url_for("hiring.candidate", rid=rid, cid=cid), 303)
    return render_template("hiring_extract.html", extract=answer, rid=rid, cid=cid)


# -- the applicant's page (public) ------------------------------------------------------------------------
def public_get(path: str, **params: Any) -> Any:
    """A read of the recruitments service's public endpoints: no token, whoever is browsing."""
    base = current_app.config["SERVICE_URLS"]["recruitments"]
    http: requests.Session = current_app.extensions["web.http"]
    try:
        r = http.get(base + path, params=params or None, headers={"Accept": "application/json"},
                     timeout=backend.TIMEOUT)
    except requests.RequestException:
        raise ServiceUnavailable("recruitments is not answering")
    if r.status_code in (404, 422):
        raise NotFound()
    if r.status_code >= 400:
        raise ServiceUnavailable(f"recruitments answered {r.status_code}")
    return r.json()


@hiring.get("/annonser")
def adverts() -> Any:
    """Every published advert, for anyone, a page at a time."""
    cursor = request.args.get("fran") or None
    page = public_get("/adverts", limit=PUBLIC_PAGE_SIZE, **({"cursor": cursor} if cursor else {}))
    return render_template("hiring_adverts.html", adverts=page["items"], next_cursor=page["next_cursor"])


@hiring.get("/annonser/<uuid:rid>")
def advert(rid: UUID) -> Any:
    """One published advert, with how service users take part and what user-driven work means."""
    return render_template("hiring_advert.html", advert=public_get(f"/adverts/{rid}"))
