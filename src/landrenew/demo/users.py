"""The demo's users: one per role of the profile (a district officer of 武进区), with random passwords."""

from __future__ import annotations

import secrets
import string

from landrenew import users
from landrenew.policy import Profile
from landrenew.store import Workspace

#: user name, display name and district for each role key (a role not listed gets its key as name)
PEOPLE = {"city_admin": ("admin", "市自然资源和规划局 王建国", None),
          "city_analyst": ("analyst", "市自然资源和规划局 李敏", None),
          "district_officer": ("wujin", "武进区经办 张伟", "320412"),
          "viewer": ("leader", "市政府 陈主任", None)}


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        p = "".join(secrets.choice(alphabet) for _ in range(12))
        if any(c.isdigit() for c in p) and any(c.isalpha() for c in p):
            return p


def demo_users(ws: Workspace, profile: Profile) -> list[tuple[str, str, str | None, str | None]]:
    """Create the users that do not exist yet: (name, role, district, password — None if it existed)."""
    existing = {u.name for u in users.list_users(ws.engine)}
    out = []
    for role in profile.operations.roles:
        name, shown, district = PEOPLE.get(role.key, (role.key.replace("_", "."), None, None))
        if role.scope == "district" and district is None:
            district = profile.city.district_codes[0]
        password = None
        if name not in existing:
            password = _password()
            users.add_user(ws.engine, profile, name, role.key, password, district=district, display_name=shown)
        out.append((name, role.key, district, password))
    return out
