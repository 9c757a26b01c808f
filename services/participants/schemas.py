"""HTTP bodies of the participants API (marshmallow). Unknown fields are refused."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

LANGUAGE = validate.Regexp(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", error="use a language code such as 'sv' or 'ar'")
DEPARTMENT_CODE = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,62}$", error="lower-case letters, digits and '-'")


class RegisterParticipantIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(
        load_default=None, allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9 ()-]{5,20}$", error="not a phone number"),
    )
    preferred_language = fields.String(load_default="sv", validate=LANGUAGE)
    departments = fields.List(
        fields.String(validate=DEPARTMENT_CODE), required=True, validate=validate.Length(min=1, max=20)
    )
    department = fields.String(load_default=None, allow_none=True, validate=DEPARTMENT_CODE,
                               metadata={"description": "the registering department (defaults to the first)"})


class CreatedOut(Schema):
    id = fields.String(required=True)
    version = fields.Integer()


class ParticipantOut(Schema):
    id = fields.String(required=True)
    name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    preferred_language = fields.String()
    departments = fields.List(fields.String())
    version = fields.Integer()


class ReadQuery(Schema):
    purpose = fields.String(load_default="coordination", validate=validate.Length(min=3, max=200))


class DepartmentIn(Schema):
    code = fields.String(required=True, validate=DEPARTMENT_CODE)
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))


class DepartmentOut(Schema):
    code = fields.String()
    name = fields.String()
    active = fields.Boolean()
