"""Who does something: a user name, a role of the profile and, for district roles, the district.

Services take an :class:`Actor` and enforce what its role may see and do; the CLI and the web
app only say who is acting. Roles are policy data (``operations.roles``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from landrenew.policy import Profile
from landrenew.policy.schema import Role


class Forbidden(PermissionError):
    """The actor may not do this (message in Chinese and English)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


@dataclass(frozen=True)
class Actor:
    """A user acting in a role; ``district`` binds a district role to its district."""

    name: str
    role: str
    district: str | None = None

    def role_of(self, profile: Profile) -> Role:
        """The actor's role, checked against the profile (a district role needs its district)."""
        try:
            role = profile.operations.role(self.role)
        except KeyError:
            keys = ", ".join(r.key for r in profile.operations.roles)
            raise Forbidden(f"未知角色 {self.role}（可选：{keys}）", f"unknown role {self.role} (one of {keys})") from None
        if role.scope == "district" and self.district not in profile.city.district_codes:
            raise Forbidden(f"{role.name_zh}须绑定一个行政区", f"a {role.name_en} must be bound to a district")
        return role

    def districts(self, profile: Profile) -> set[str] | None:
        """The districts the actor may see: its own for a district role, None (all) otherwise."""
        return {self.district} if self.role_of(profile).scope == "district" and self.district else None

    def require(self, profile: Profile, roles: Iterable[str], action_zh: str, action_en: str,
                district: str | None = None) -> None:
        """Refuse unless the actor's role is one of ``roles`` (and, for a district role, the
        thing acted on belongs to its district)."""
        role = self.role_of(profile)
        allowed = list(roles)
        if role.read_only or role.key not in allowed:
            raise Forbidden(f"角色「{role.name_zh}」无权{action_zh}（允许：{'、'.join(allowed) or '无'}）",
                            f"role {role.key} may not {action_en} (allowed: {', '.join(allowed) or 'none'})")
        self.require_district(profile, district)

    def require_district(self, profile: Profile, district: str | None) -> None:
        """Refuse a district role acting on another district's case or account."""
        mine = self.districts(profile)
        if mine is not None and district is not None and district not in mine:
            raise Forbidden(f"无权查看或处理其他行政区（{district}）的事项", f"may not see or act on district {district}")
