"""The forms of the service user's pages (Flask-WTF: every form carries a CSRF token).

Messages come from the language in use when the form is built, so errors read in the person's
language; each says how to fix the answer, not what went wrong inside the system.
"""

from __future__ import annotations

from typing import Any

from flask import session
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from services.web.i18n import t

DECLINE_REASONS = ("not_available", "conflict_of_interest", "health", "not_this_time", "other")
RECOMMENDATIONS = ("hire", "maybe", "no_hire")
SCALE = [(str(n), str(n)) for n in range(1, 6)]


def tr(key: str, **values: Any) -> str:
    return t(key, session.get("lang", "sv"), **values)


def answer_form() -> FlaskForm:
    class AnswerForm(FlaskForm):
        answer = RadioField(choices=[("yes", tr("answer_yes")), ("no", tr("answer_no"))],
                            validators=[InputRequired(tr("answer_required"))])

    return AnswerForm()


def decline_reason_form() -> FlaskForm:
    class DeclineReasonForm(FlaskForm):
        reason = RadioField(choices=[("none", tr("reason_none"))] + [(r, tr(f"reason_{r}")) for r in DECLINE_REASONS],
                            validators=[Optional()], default="none")

    return DeclineReasonForm()


def confirm_form() -> FlaskForm:
    """A form with nothing but its CSRF token: a button that does what it says."""

    class ConfirmForm(FlaskForm):
        pass

    return ConfirmForm()


def score_form(attributes: list[dict[str, str]], amend: bool = False) -> FlaskForm:
    fields: dict[str, Any] = {
        f"attr_{a['key']}": RadioField(a["label"], choices=SCALE,
                                       validators=[InputRequired(tr("choose_score", label=a["label"]))])
        for a in attributes
    }
    fields["recommendation"] = RadioField(choices=[(r, tr(f"rec_{r}")) for r in RECOMMENDATIONS],
                                          validators=[InputRequired(tr("choose_recommendation"))])
    if amend:
        fields["reason"] = TextAreaField(validators=[DataRequired(tr("amend_reason_required")),
                                                     Length(min=3, max=2000, message=tr("amend_reason_required"))])
    else:
        fields["comment"] = TextAreaField(validators=[Optional(), Length(max=4000)])
    form_class = type("ScoreForm", (FlaskForm,), fields)
    form: FlaskForm = form_class()
    return form


def conflict_form() -> FlaskForm:
    class ConflictForm(FlaskForm):
        conflict = RadioField(choices=[("yes", tr("conflict_yes")), ("no", tr("conflict_no"))],
                              validators=[InputRequired(tr("conflict_required"))])

    return ConflictForm()


def feedback_form() -> FlaskForm:
    class FeedbackForm(FlaskForm):
        rating = RadioField(choices=SCALE, validators=[InputRequired(tr("feedback_rating_required"))])
        text = TextAreaField(validators=[DataRequired(tr("feedback_text_required")), Length(max=4000)])

    return FeedbackForm()


def undertaking_form() -> FlaskForm:
    class UndertakingForm(FlaskForm):
        confirm = BooleanField(validators=[DataRequired(tr("undertaking_required"))])

    return UndertakingForm()


def window_form() -> FlaskForm:
    class WindowForm(FlaskForm):
        start = DateField(validators=[InputRequired(tr("date_required"))], format="%Y-%m-%d")
        end = DateField(validators=[InputRequired(tr("date_required"))], format="%Y-%m-%d")

        def validate_end(self, field: DateField) -> None:
            if self.start.data and field.data and field.data < self.start.data:
                from wtforms.validators import ValidationError

                raise ValidationError(tr("date_order"))

    form = WindowForm()
    for name in ("start", "end"):  # WTForms' own "Not a valid date value" is neither Swedish nor helpful
        getattr(form, name).messages = tr("date_required")
    return form


def contact_form(current_email: str | None, current_phone: str | None) -> FlaskForm:
    class ContactForm(FlaskForm):
        email = StringField(validators=[Optional(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=tr("email_invalid"))],
                            default=current_email)
        phone = StringField(validators=[Optional(), Regexp(r"^\+?[0-9 ()-]{5,20}$", message=tr("phone_invalid"))],
                            default=current_phone)

    return ContactForm()


def pause_form() -> FlaskForm:
    class PauseForm(FlaskForm):
        pause = RadioField(choices=[("yes", tr("pause_yes")), ("no", tr("pause_no"))],
                           validators=[InputRequired(tr("pause_required"))])

    return PauseForm()


def consent_form() -> FlaskForm:
    class ConsentForm(FlaskForm):
        purpose = StringField(validators=[DataRequired()])
        department = StringField(validators=[DataRequired()])
        action = StringField(validators=[DataRequired(), Regexp(r"^(give|withdraw)$")])

    return ConsentForm()


def terms_form() -> FlaskForm:
    class TermsForm(FlaskForm):
        accept = RadioField(choices=[("yes", tr("terms_yes")), ("no", tr("terms_no"))],
                            validators=[InputRequired(tr("terms_required"))])

    return TermsForm()
