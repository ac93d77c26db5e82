"""Who is acting on a request or command, and what their role lets them change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.core.errors import PermissionDeniedError

# Kept as plain strings so this module needs nothing from any domain.
ADMIN = "admin"
VENDOR = "vendor"  # a vendor's key: reaches /api/vendor/ and that vendor's objects only
WRITERS = frozenset({"admin", "procurement", "owner"})


@dataclass(frozen=True)
class Actor:
    label: str  # an e-mail address, "cli", or the vendor and its key's hint
    role: str
    user_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = None  # set for a vendor key
    key_id: uuid.UUID | None = None
    source: str | None = None  # the client's address, for the audit trail

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

    @property
    def vendor(self) -> uuid.UUID:
        """The vendor a vendor key acts for; anything else is refused."""
        if self.role != VENDOR or self.vendor_id is None:
            raise PermissionDeniedError("vendor routes take a vendor key")
        return self.vendor_id


CLI_ACTOR = Actor(label="cli", role=ADMIN)
