"""Schema changes only through migrations: the migrated database must match the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydantic import BaseModel
from sqlalchemy import String, inspect
from sqlalchemy.engine import Connection

from app.accounts.schemas import TokenCreate, UserCreate
from app.agreements.schemas import AgreementCreate, Termination
from app.attestations.schemas import Rejection, Review
from app.contacts.schemas import ContactInvite
from app.core.database import pending_migrations, run_on_connection
from app.engagements.schemas import EngagementCreate, SubProcessorCreate
from app.handler.schemas import HandlerProfileUpdate
from app.models import metadata
from app.obligations.schemas import Completion, Waiver
from app.questionnaires.schemas import QuestionnaireAccept, QuestionnaireReturn
from app.vendors.schemas import VendorCreate, VendorKeyCreate
from app.workdays.schemas import OverrideSet


def _diff(database_url: str) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata()))

    return run_on_connection(database_url, compare)


def test_autogenerate_finds_nothing_to_do(database_url: str) -> None:
    assert _diff(database_url) == []


def test_database_is_at_the_newest_migration(database_url: str) -> None:
    assert not pending_migrations(database_url)


# What a client writes, and the table it lands in (a field may land under another name).
WRITES: list[tuple[type[BaseModel], str, dict[str, str]]] = [
    (VendorCreate, "vendors", {}),
    (VendorKeyCreate, "vendor_keys", {}),
    (ContactInvite, "vendor_contacts", {}),
    (EngagementCreate, "engagements", {}),
    (SubProcessorCreate, "sub_processors", {}),
    (AgreementCreate, "agreements", {}),
    (Termination, "agreements", {"reason": "end_reason"}),
    (UserCreate, "users", {}),
    (TokenCreate, "api_tokens", {}),
    (HandlerProfileUpdate, "handler_profile", {}),
    (OverrideSet, "calendar_overrides", {}),
    (Waiver, "obligations", {"reason": "note"}),
    (Completion, "obligations", {"reference": "note"}),
    (Review, "attestations", {"reason": "review_reason"}),
    (Rejection, "attestations", {"reason": "review_reason"}),
    (QuestionnaireAccept, "questionnaires", {"reason": "review_reason"}),
    (QuestionnaireReturn, "questionnaires", {"reason": "review_reason"}),
]
NORMALISED = {"unified_social_credit_code"}  # up to 40 with spaces and dashes; stored as its 18 characters


def _longest(prop: dict[str, Any], definitions: dict[str, Any]) -> int | None:
    """The longest string a JSON-schema property admits, or None when unbounded."""
    options = [prop, *prop.get("anyOf", []), *prop.get("allOf", [])]
    for option in options:
        if "$ref" in option:
            option = definitions[option["$ref"].rsplit("/", 1)[1]]
        if "enum" in option:
            return max(len(str(value)) for value in option["enum"])
        if option.get("format") == "uuid" or "maxLength" in option:
            return 32 if option.get("format") == "uuid" else int(option["maxLength"])
    return None


def test_every_string_a_client_writes_fits_its_column(database_url: str) -> None:
    """A value longer than its column was a 500 on PostgreSQL: the edge must refuse it first."""

    def lengths(connection: Connection) -> dict[tuple[str, str], int]:
        found = {}
        inspector = inspect(connection)
        for table in inspector.get_table_names():
            for column in inspector.get_columns(table):
                if isinstance(column["type"], String) and column["type"].length:
                    found[(table, column["name"])] = column["type"].length
        return found

    columns = run_on_connection(database_url, lengths)
    too_long = []
    for schema, table, renamed in WRITES:
        document = schema.model_json_schema()
        for name, prop in document["properties"].items():
            column = (table, renamed.get(name, name))
            if column not in columns or name in NORMALISED:
                continue
            longest = _longest(prop, document.get("$defs", {}))
            if longest is None or longest > columns[column]:
                too_long.append(f"{schema.__name__}.{name}: {longest} > {table}.{column[1]} {columns[column]}")
    assert too_long == []
