"""Who is acting on a request or command, and what their role lets them change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.core.errors import PermissionDeniedError

# Kept as plain strings so this module needs nothing from any domain.
ADMIN = "admin"
WRITERS = frozenset({"admin", "procurement", "owner"})


@dataclass(frozen=True)
class Actor:
    label: str  # an e-mail address, or "cli"
    role: str
    user_id: uuid.UUID | None = None

    def require_writer(self, owner_id: uuid.UUID | None = None, *, creating: bool = False) -> None:
        """Admins change anything; procurement and owners create, and change what they own."""
        if self.role == ADMIN:
            return
        if self.role not in WRITERS:
            raise PermissionDeniedError(f"the {self.role} role may only read")
        if not creating and owner_id != self.user_id:
            raise PermissionDeniedError("only the record's owner or an admin may change it")

    def require_role(self, *roles: str) -> None:
        if self.role != ADMIN and self.role not in roles:
            raise PermissionDeniedError(f"the {self.role} role may not do this")


CLI_ACTOR = Actor(label="cli", role=ADMIN)
