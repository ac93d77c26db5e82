"""Who is acting on a request or command, and what their role lets them change.

The roles live here, below every domain, so that this module needs nothing from any of
them; accounts gives each user one of them. A vendor's key and a refused credential act
without a role.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from app.core.errors import PermissionDeniedError


class Role(StrEnum):
    """What a user may do. Procurement and owners write what they own; the DPO reviews."""

    admin = "admin"
    procurement = "procurement"
    owner = "owner"
    dpo = "dpo"
    auditor = "auditor"


WRITERS = frozenset({Role.admin, Role.procurement, Role.owner})
ROLES_ZH = {
    "admin": "管理员",
    "procurement": "采购",
    "owner": "业务负责人",
    "dpo": "个人信息保护负责人",
    "auditor": "审计",
}
ROLES_ZH |= {"vendor": "受托方", "none": "无角色"}


@dataclass(frozen=True)
class Actor:
    label: str  # an e-mail address, "cli", or the vendor and its key's hint
    role: Role | None  # None: no user account (a vendor's key, or a refused credential)
    user_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = None  # set for a vendor key: reaches /api/vendor/ and its own objects only
    key_id: uuid.UUID | None = None
    source: str | None = None  # the client's address, for the audit trail
    test: bool = False  # a vendor's sandbox key: what it does is rehearsal, audited as such

    def require_writer(self, owner_id: uuid.UUID | None = None, *, creating: bool = False) -> None:
        """Admins change anything; procurement and owners create, and change what they own."""
        if self.role == Role.admin:
            return
        if self.role not in WRITERS:
            raise PermissionDeniedError(
                f"the {self._role_name} role may only read", zh=f"“{self._role_zh}”角色只能查看"
            )
        if not creating and owner_id != self.user_id:
            raise PermissionDeniedError(
                "only the record's owner or an admin may change it", zh="只有该记录的负责人或管理员可以修改"
            )

    def require_role(self, *roles: Role) -> None:
        """One of `roles`, or an admin."""
        if self.role != Role.admin and self.role not in roles:
            raise PermissionDeniedError(
                f"the {self._role_name} role may not do this", zh=f"“{self._role_zh}”角色无权执行此操作"
            )

    @property
    def vendor(self) -> uuid.UUID:
        """The vendor a vendor key acts for; anything else is refused."""
        if self.vendor_id is None:
            raise PermissionDeniedError("vendor routes take a vendor key", zh="受托方接口须使用受托方密钥")
        return self.vendor_id

    @property
    def _role_name(self) -> str:
        if self.role is not None:
            return self.role.value
        return "vendor" if self.vendor_id is not None else "none"

    @property
    def _role_zh(self) -> str:
        return ROLES_ZH.get(self._role_name, self._role_name)


CLI_ACTOR = Actor(label="cli", role=Role.admin)
