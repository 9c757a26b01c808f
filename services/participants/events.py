"""The public events of ``participants.events``: schemas and the mapping from domain events."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.participants.domain import DataAccess, Department, Participant
from shared.events import EventCatalogue

catalogue = EventCatalogue("participants")


class DepartmentOnboardedV1(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class UserRegisteredV1(Schema):
    personal = fields.String(required=True, metadata={"description": "vault token: name, email, phone"})
    preferred_language = fields.String(required=True)
    departments = fields.List(fields.String(), required=True)


class PersonalDataAccessedV1(Schema):
    subject_id = fields.String(required=True)
    purpose = fields.String(required=True)
    categories = fields.List(fields.String(), required=True)


catalogue.register(Department.Onboarded, "DepartmentOnboarded", DepartmentOnboardedV1,
                   description="A department (administration) starts using Delaktig.")
catalogue.register(Participant.Registered, "UserRegistered", UserRegisteredV1,
                   description="A service user joins the brukarbank. Personal fields are ciphertext.")
catalogue.register(DataAccess.Recorded, "PersonalDataAccessed", PersonalDataAccessedV1,
                   description="Someone read a person's personal data, with the purpose.")
