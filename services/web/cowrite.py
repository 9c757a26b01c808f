"""Co-writing for service users: from "Mina uppdrag", a panel member reads the recruitment's three
co-written texts (the job description, the advert, how service users take part) with who wrote
what, and adds a contribution to one of them: the question on its own page, "check your answer",
then a confirmation that says what happens next.

The recruitments service decides who may contribute and until when (someone on the panel, until
the hiring decision; the job description only until the advert is published) and refuses
otherwise; these pages show what its answer allows and say plainly when it refuses. Other
service users are shown as "en brukare" and staff by their role, never by name or id.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from flask import Blueprint, abort, redirect, render_template, session, url_for
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from services.web import backend
from services.web.backend import Refused
from services.web.forms import confirm_form, tr
from services.web.pages import errors_of, me
from services.web.signin import participant_only

cowrite = Blueprint("cowrite", __name__)

# The address of each text (Swedish, as the service user's other pages) -> the text's kind.
KINDS = {"tjanstebeskrivning": "job_description", "annons": "advert", "sa-ar-brukarna-med": "participation"}
API_PATHS = {"job_description": "job-description", "advert": "advert", "participation": "participation-text"}
VIEW_KEYS = {"job_description": "job_description", "advert": "advert", "participation": "participation_text"}
MAX_LENGTH = 4000  # the recruitments service's limit for one contribution
DRAFT = "cowrite_draft"  # the session key of the contribution waiting on its check page


@cowrite.app_template_global()
def closed_because(rec: dict[str, Any], kind: str) -> str | None:
    """Why a text takes no more contributions (``decided``, ``advert_published``), or ``None`` while
    it does: what the recruitments service checks, read from its view so no page offers a form the
    service would refuse. The service still has the last word (its refusal is shown)."""
    if rec["stage"] in ("decided", "closed"):
        return "decided"
    if kind == "job_description" and rec.get("advert_version"):
        return "advert_published"
    return None


def kind_of(slug: str) -> str:
    kind = KINDS.get(slug)
    if kind is None:
        abort(404)
    return kind


def recruitment(rid: UUID) -> dict[str, Any]:
    """The recruitment as this person may see it (404 when they are not on its panel)."""
    view: dict[str, Any] = backend.get("recruitments", f"/recruitments/{rid}")
    return view


def contribution_form(kind: str) -> FlaskForm:
    class ContributionForm(FlaskForm):
        text = TextAreaField(validators=[DataRequired(tr("cowrite_text_required_" + kind)),
                                         Length(max=MAX_LENGTH, message=tr("cowrite_text_too_long"))])

    return ContributionForm()


def page_of(template: str, rec: dict[str, Any], kind: str, **values: Any) -> str:
    """One of the co-writing pages about one text of ``rec``."""
    return render_template(template, rec=rec, kind=kind, slug=next(s for s, k in KINDS.items() if k == kind),
                           existing=rec[VIEW_KEYS[kind]], my_id=me(), **values)


@cowrite.get("/uppdrag/<uuid:rid>/texter")
@participant_only
def texts(rid: UUID) -> Any:
    """The three texts, what stands in each and who wrote it, and where one may add to them."""
    rec = recruitment(rid)
    return render_template("cowrite_texts.html", rec=rec, kinds=list(KINDS.items()), view_keys=VIEW_KEYS, my_id=me())


@cowrite.route("/uppdrag/<uuid:rid>/texter/<slug>", methods=["GET", "POST"])
@participant_only
def write(rid: UUID, slug: str) -> Any:
    """One question: what would you like to add to this text?"""
    kind = kind_of(slug)
    rec = recruitment(rid)
    if closed_because(rec, kind):
        return redirect(url_for("cowrite.texts", rid=rid))
    form: Any = contribution_form(kind)
    draft = session.get(DRAFT) or {}
    if not form.is_submitted() and draft.get("rid") == str(rid) and draft.get("kind") == kind:
        form.text.data = draft["text"]  # back from the check page to change the answer
    if form.validate_on_submit():
        # A new key for each answer: sending it twice records it once; a changed answer is a new one.
        session[DRAFT] = {"rid": str(rid), "kind": kind, "text": form.text.data.strip(), "key": str(uuid4())}
        return redirect(url_for("cowrite.check", rid=rid, slug=slug), 303)
    errors = errors_of(form)
    return page_of("cowrite_write.html", rec, kind, form=form, errors=errors), (400 if errors else 200)


@cowrite.route("/uppdrag/<uuid:rid>/texter/<slug>/kontrollera", methods=["GET", "POST"])
@participant_only
def check(rid: UUID, slug: str) -> Any:
    """Check your answer and what sending it means; then it is sent, once."""
    kind = kind_of(slug)
    rec = recruitment(rid)
    draft = session.get(DRAFT) or {}
    if draft.get("rid") != str(rid) or draft.get("kind") != kind:
        return redirect(url_for("cowrite.write", rid=rid, slug=slug))
    form = confirm_form()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            backend.post("recruitments", f"/recruitments/{rid}/{API_PATHS[kind]}/contributions",
                         {"text": draft["text"]}, idempotency_key=draft["key"])
        except Refused as error:
            reason = closed_because(recruitment(rid), kind)  # e.g. decided while this page was open
            errors = {"send": tr("cowrite_closed_" + reason) if reason else tr("refused", detail=error.detail)}
        else:
            session.pop(DRAFT, None)
            return page_of("cowrite_sent.html", rec, kind)
    return page_of("cowrite_check.html", rec, kind, form=form, draft=draft, errors=errors), (409 if errors else 200)
