"""HTTP bodies of the recruitments API (marshmallow). Unknown fields are refused."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from services.recruitments.domain import FORMATS, RECOMMENDATIONS, SHORTLIST
from shared.contract import RECRUITMENT_STAGES
from shared.pagination import PageQuery, page_schema

DEPARTMENT_CODE = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,62}$", error="lower-case letters, digits and '-'")
KEY = validate.Regexp(r"^[a-z][a-z0-9_]{1,62}$", error="lower-case letters, digits and '_'")
SCORECARD_EXAMPLE = [
    {"key": "motivation_user_participation", "label": "Motivation för brukardelaktighet"},
    {"key": "empathy", "label": "Empati och respekt"},
    {"key": "collaboration", "label": "Samarbete"},
]
SCORE = fields.Integer(validate=validate.Range(1, 5))
TEXT = validate.Length(min=1, max=4000)


class PlannedIn(Schema):
    advert_on = fields.Date(load_default=None, allow_none=True)
    interviews_from = fields.Date(load_default=None, allow_none=True)
    interviews_to = fields.Date(load_default=None, allow_none=True)
    decision_by = fields.Date(load_default=None, allow_none=True)


class FocusAttributeIn(Schema):
    key = fields.String(required=True, validate=KEY)
    label = fields.String(required=True, validate=validate.Length(min=2, max=200))


class NeedsIn(Schema):
    experience_areas = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)
    languages = fields.List(fields.String(validate=validate.Length(min=2, max=12)), load_default=list)
    panel_size = fields.Integer(load_default=3, validate=validate.Range(1, 3))


class OpenRecruitmentIn(Schema):
    department = fields.String(required=True, validate=DEPARTMENT_CODE)
    unit = fields.String(required=True, validate=validate.Length(min=1, max=100))
    position = fields.String(required=True, validate=validate.Length(min=2, max=200))
    hiring_manager = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the hiring manager's pseudonymous id (token sub); required from a "
                                 "coordinator; a hiring manager who opens the recruitment is its hiring manager"},
    )
    coordinator = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    interview_format = fields.String(required=True, validate=validate.OneOf(FORMATS))
    planned = fields.Nested(PlannedIn, load_default=lambda: PlannedIn().load({}))
    scorecard = fields.List(
        fields.Nested(FocusAttributeIn), required=True,
        validate=validate.Length(min=3, max=6, error="a scorecard has 3 to 6 focus attributes"),
        metadata={"description": "3 to 6 focus attributes with unique keys, one of them "
                                 "'motivation_user_participation' (effect goal 1)",
                  "uniqueItems": True, "example": SCORECARD_EXAMPLE})
    needs = fields.Nested(NeedsIn, load_default=lambda: NeedsIn().load({}))


class CreatedOut(Schema):
    id = fields.String(required=True)


class TextIn(Schema):
    text = fields.String(required=True, validate=TEXT)


class PublishIn(TextIn):
    participation_text = fields.String(
        load_default=None,
        allow_none=True,
        validate=TEXT,
        metadata={"description": "how service users take part in this recruitment and what the job's "
                                 "user-driven way of working means in practice (shown on the public advert)"},
    )


class PublicAdvertQuery(PageQuery):
    arity = 2  # (published at, recruitment id)
    department = fields.String(load_default=None, validate=DEPARTMENT_CODE)


class AdvertPublishedOut(Schema):
    version = fields.Integer()


class ApplicationIn(Schema):
    ats_ref = fields.String(required=True, validate=validate.Length(min=1, max=100))
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None, allow_none=True)
    phone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9 ()-]{5,20}$", error="not a phone number"),
    )
    protected_identity = fields.Boolean(load_default=False)


class AssessmentIn(Schema):
    shortlist = fields.String(required=True, validate=validate.OneOf(SHORTLIST))
    motivation = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ConflictIn(Schema):
    has_conflict = fields.Boolean(required=True)


class ScoreIn(Schema):
    scores = fields.Dict(keys=fields.String(), values=SCORE, required=True)
    recommendation = fields.String(required=True, validate=validate.OneOf(RECOMMENDATIONS))
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))


class AmendIn(Schema):
    scores = fields.Dict(keys=fields.String(), values=SCORE, required=True)
    recommendation = fields.String(required=True, validate=validate.OneOf(RECOMMENDATIONS))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class DecisionIn(Schema):
    candidate_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    motivation = fields.String(required=True, validate=validate.Length(min=3, max=4000))
    deviation_reason = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=4000),
        metadata={"description": "required when deciding against the participants' recommendation"},
    )


class CloseIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(("filled", "cancelled")))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class FeedbackIn(Schema):
    rating = fields.Integer(required=True, validate=validate.Range(1, 5))
    text = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class FollowUpIn(Schema):
    months = fields.Integer(required=True, validate=validate.OneOf((6, 12)))
    still_employed = fields.Boolean(required=True)
    motivation_rating = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 5))


class LegalHoldIn(Schema):
    candidate_id = fields.String(load_default="*", validate=validate.Length(min=1, max=64))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class ExtractQuery(Schema):
    candidate_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class Ok(Schema):
    ok = fields.Boolean()
    shared_with = fields.List(fields.String())


# -- documented answers (served as built; these schemas document them, they do not filter) ---
class Document(Schema):
    class Meta:
        unknown = INCLUDE


class RecruitmentSummaryOut(Document):
    id = fields.String(required=True)
    department = fields.String(required=True)
    unit = fields.String()
    position = fields.String()
    stage = fields.String()
    interview_format = fields.String()
    hiring_manager = fields.String()
    coordinator = fields.String()
    planned = fields.Dict()
    scorecard = fields.List(fields.Dict())
    needs = fields.Dict()
    panel = fields.List(fields.String())
    advert_version = fields.Integer(allow_none=True)
    candidates = fields.Integer()
    unscored = fields.Integer(metadata={"description": "candidates with fewer interview scores than the panel "
                                                       "has seats"})
    version = fields.Integer()


RecruitmentListOut = page_schema(RecruitmentSummaryOut, "RecruitmentListOut")


class RecruitmentsQuery(PageQuery):
    """Filters of ``GET /recruitments``, besides ``limit`` and ``cursor``."""

    arity = 2  # (position of the opening event, recruitment id)

    department = fields.String(load_default=None, validate=DEPARTMENT_CODE)
    stage = fields.List(fields.String(validate=validate.OneOf(RECRUITMENT_STAGES)), load_default=None,
                        metadata={"description": "only these stages (repeat the parameter for several)"})
    newest_first = fields.Boolean(load_default=False,
                                  metadata={"description": "the most recently opened first (keep it the same "
                                                           "for every page of one listing)"})
    hiring_manager = fields.String(load_default=None, validate=validate.Length(min=1, max=200),
                                   metadata={"description": "only the recruitments this person manages"})


class RecruitmentOut(RecruitmentSummaryOut):
    job_description = fields.Raw()
    advert = fields.Raw()
    published_advert = fields.Raw(allow_none=True)
    participation_text = fields.Raw(metadata={"description": "who wrote what on how service users take part"})
    published_participation = fields.Raw(allow_none=True)
    closed = fields.Raw(allow_none=True)
    decision = fields.Raw(allow_none=True)


class CandidateOut(Document):
    id = fields.String(required=True)
    protected_identity = fields.Boolean()
    erased = fields.Boolean()
    name = fields.String(allow_none=True)
    scored_by_you = fields.Boolean(metadata={"description": "whether the caller has scored this candidate"})
    ats_ref = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    assessments = fields.List(fields.Dict(), metadata={"description": "staff only: who assessed how"})


CandidatesOut = page_schema(CandidateOut, "CandidatesOut")


class KeyedPage(PageQuery):
    """``limit`` and ``cursor`` of the lists inside one recruitment (a key of two parts)."""

    arity = 2


class ScoresOut(Document):
    candidate_id = fields.String(required=True)
    others_hidden = fields.Boolean(required=True)
    scores = fields.List(fields.Dict(), required=True)
    own_declaration = fields.Dict(allow_none=True, metadata={
        "description": "the caller's own conflict-of-interest declaration for this candidate "
                       "({has_conflict, recused}), null before they have declared"})


class SummaryOut(Document):
    candidate_id = fields.String(required=True)
    interview_format = fields.String()


class InfluenceOut(Document):
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    actor_id = fields.String(required=True)
    actor_role = fields.String(required=True)
    candidate_id = fields.String(allow_none=True)
    occurred_at = fields.String(required=True)
    hash = fields.String(required=True)


InfluencePageOut = page_schema(InfluenceOut, "InfluencePageOut")


class DecisionOut(Document):
    candidate_id = fields.String(required=True)
    motivation = fields.String()
    deviation_reason = fields.String(allow_none=True)
    decided_on = fields.String()


class OutcomeOut(Document):
    candidate_id = fields.String(required=True)
    motivation = fields.String()
    participants_recommendation = fields.String(allow_none=True)
    against_participants = fields.Boolean()
    deviation_reason = fields.String(allow_none=True)
    decided_on = fields.String()
    shared_with = fields.List(fields.String(), allow_none=True)


class FeedbackOut(Document):
    manager = fields.Raw(allow_none=True)
    participants = fields.Raw()
    follow_ups = fields.Raw()


class MeritsExtractOut(Document):
    recruitment = fields.Dict(required=True)
    legal_basis = fields.String(required=True)
    requested_by = fields.String(required=True)
    scorecard = fields.Dict()
    interviewed_or_hired = fields.List(fields.Dict(), required=True)
    decision = fields.Dict()


class PublicAdvertOut(Document):
    """A published advert as anyone may read it: no personal data, only public texts and facts."""

    id = fields.String(required=True)
    department = fields.String(required=True)
    unit = fields.String(required=True)
    position = fields.String(required=True)
    interview_format = fields.String(required=True)
    users_on_panel = fields.Integer(required=True, metadata={"description": "service users the panel seats"})
    interviews_from = fields.String(allow_none=True)
    interviews_to = fields.String(allow_none=True)
    advert_version = fields.Integer(required=True)
    advert_text = fields.String(required=True)
    participation_text = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "co-written: how service users take part and what the user-driven way of "
                                 "working means in practice"},
    )
    users_wrote = fields.Boolean(required=True,
                                 metadata={"description": "service users wrote some of the texts (recorded)"})
    published_at = fields.String(required=True)


PublicAdvertPage = page_schema(PublicAdvertOut, "PublicAdvertPage")
