from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import SQLModel


class AuditAction(StrEnum):
    create = "create"
    update = "update"
    delete = "delete"
    submit = "submit"  # a vendor sent an attestation
    review = "review"  # accepted or rejected
    download = "download"  # a vendor fetched a file
    auth_failed = "auth_failed"
    export = "export"  # an evidence pack or a backup left the building
    restore = "restore"  # the database was replaced by a backup
    sign_in = "sign_in"  # a person signed in to the pages
    sign_out = "sign_out"  # one session, or every session of a user, ended


class AuditObject(StrEnum):
    """What an entry is about (its object_type); the trail keeps it as a plain string."""

    vendor = "vendor"
    vendor_key = "vendor_key"
    engagement = "engagement"
    sub_processor = "sub_processor"
    agreement = "agreement"
    agreement_document = "agreement_document"
    attestation = "attestation"
    evidence_file = "evidence_file"
    obligation = "obligation"
    handler = "handler"
    calendar_day = "calendar_day"
    user = "user"
    api_token = "api_token"  # noqa: S105 - the name of a table, not a secret
    credential = "credential"  # a refused one
    web_session = "web_session"  # a person's signed-in browser
    password = "password"  # noqa: S105 - the name of an object, not a secret
    calendar_feed = "calendar_feed"  # a user's calendar subscription
    evidence_pack = "evidence_pack"
    questionnaire = "questionnaire"  # a due-diligence questionnaire and its answers
    questionnaire_file = "questionnaire_file"
    backup = "backup"
    audit_order = "audit_order"  # a regulator-ordered compliance audit
    vendor_contact = "vendor_contact"  # a vendor's person with a portal account
    vendor_contact_session = "vendor_contact_session"  # a contact's signed-in browser


class AuditEntryPublic(SQLModel):
    id: int
    at: datetime
    actor_id: uuid.UUID | None
    actor: str
    action: AuditAction
    object_type: str
    object_id: str
    changes: dict[str, Any]
    source: str | None
