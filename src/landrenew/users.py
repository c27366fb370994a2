"""Users of the web app: accounts bound to a role of the profile, argon2 password hashes,
browser sessions with a CSRF token, API tokens for scripts. Used by the CLI (``landrenew users``)
and the web app alike; the services still decide what a user may do (``actors``).

Secrets are random (``secrets``) and only their SHA-256 is stored, so a copy of the database
does not let anyone sign in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, select, update

from landrenew.actors import Actor, Forbidden
from landrenew.policy import Profile
from landrenew.store.models import ApiToken, AppUser, WebSession

_HASHER = PasswordHasher()
#: a dummy hash verified when the user does not exist, so both cases take as long
_DUMMY_HASH = _HASHER.hash("landrenew-no-such-user")
MIN_PASSWORD_LENGTH = 10
#: an API token's default and longest life in days (made again with ``users rotate-token``)
TOKEN_DAYS, MAX_TOKEN_DAYS = 90, 366
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


class UserError(ValueError):
    """A refused user operation, in Chinese and English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


@dataclass(frozen=True)
class User:
    """A user as the services see it."""

    id: int
    name: str
    display_name: str | None
    role: str
    district_code: str | None
    disabled: bool

    @property
    def actor(self) -> Actor:
        return Actor(self.display_name or self.name, self.role, self.district_code)


U, S, T = AppUser.__table__, WebSession.__table__, ApiToken.__table__


def _user(row: Any) -> User:
    return User(row.id, row.name, row.display_name, row.role, row.district_code, bool(row.disabled))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(t: datetime) -> datetime:
    """SQLite returns naive datetimes: they were stored as UTC."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def check_password(password: str, name: str = "") -> None:
    """Refuse a weak password: too short, one kind of character only, or containing the user name."""
    kinds = sum(any(f(c) for c in password) for f in (str.isdigit, str.isalpha, lambda c: not c.isalnum()))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"密码至少 {MIN_PASSWORD_LENGTH} 位", f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if kinds < 2:
        raise UserError("密码须含字母、数字、符号中的至少两类", "the password needs two of letters, digits and symbols")
    if name and name.lower() in password.lower():
        raise UserError("密码不能包含用户名", "the password must not contain the user name")


# --------------------------------------------------------------------------- accounts


def add_user(engine: Engine, profile: Profile, name: str, role: str, password: str, *,
             district: str | None = None, display_name: str | None = None) -> User:
    """Create a user; the role must be one of the profile's and a district role needs a district."""
    name = name.strip().lower()
    if not name or not set(name) <= NAME_CHARS:
        raise UserError("用户名只能用小写字母、数字和 . _ -", "a user name may only use a-z, 0-9 and . _ -")
    try:
        Actor(name, role, district).role_of(profile)
    except Forbidden as exc:
        raise UserError(exc.zh, exc.en) from None
    if district and profile.operations.role(role).scope != "district":
        raise UserError(f"角色 {role} 不绑定行政区", f"role {role} is not bound to a district")
    check_password(password, name)
    now = _now()
    with engine.begin() as conn:
        if conn.execute(select(AppUser.id).where(AppUser.name == name)).first():
            raise UserError(f"用户 {name} 已存在", f"user {name} exists already")
        uid = conn.execute(AppUser.__table__.insert().values(
            name=name, display_name=display_name, role=role, district_code=district or None,
            password_hash=_HASHER.hash(password), disabled=False, created_at=now, password_changed_at=now,
        ).returning(AppUser.id)).scalar_one()
    return get_user(engine, uid)


def get_user(engine: Engine, user_id: int) -> User:
    with engine.connect() as conn:
        row = conn.execute(select(U).where(U.c.id == user_id)).first()
    if row is None:
        raise UserError(f"没有用户 {user_id}", f"no user {user_id}")
    return _user(row)


def find_user(engine: Engine, name: str) -> User:
    with engine.connect() as conn:
        row = conn.execute(select(U).where(U.c.name == name.strip().lower())).first()
    if row is None:
        raise UserError(f"没有用户 {name}", f"no user {name}")
    return _user(row)


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        return [_user(r) for r in conn.execute(select(U).order_by(U.c.name))]


def set_disabled(engine: Engine, name: str, disabled: bool = True) -> User:
    """Disable (or enable again) a user; disabling ends its sessions and revokes its tokens."""
    user = find_user(engine, name)
    with engine.begin() as conn:
        conn.execute(update(AppUser).where(AppUser.id == user.id).values(disabled=disabled))
        if disabled:
            conn.execute(delete(WebSession).where(WebSession.user_id == user.id))
            conn.execute(update(ApiToken).where(ApiToken.user_id == user.id).values(revoked=True))
    return find_user(engine, name)


def set_password(engine: Engine, name: str, password: str) -> None:
    """Change a password; the user's sessions end."""
    user = find_user(engine, name)
    check_password(password, user.name)
    with engine.begin() as conn:
        conn.execute(update(AppUser).where(AppUser.id == user.id).values(
            password_hash=_HASHER.hash(password), password_changed_at=_now()))
        conn.execute(delete(WebSession).where(WebSession.user_id == user.id))


def authenticate(engine: Engine, name: str, password: str) -> User | None:
    """The enabled user with this name and password, else None (same work either way)."""
    with engine.connect() as conn:
        row = conn.execute(select(U).where(U.c.name == name.strip().lower())).first()
    try:
        _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    if _HASHER.check_needs_rehash(row.password_hash):
        with engine.begin() as conn:
            conn.execute(update(AppUser).where(AppUser.id == row.id).values(password_hash=_HASHER.hash(password)))
    return _user(row)


# --------------------------------------------------------------------------- sessions and tokens


@dataclass(frozen=True)
class Session:
    """A signed-in browser: the cookie value (shown once), its CSRF token and expiry."""

    cookie: str
    csrf_token: str
    expires_at: datetime


def start_session(engine: Engine, user: User, hours: float) -> Session:
    """A new session for ``user`` lasting ``hours``; expired sessions are swept."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = _now()
    expires = now + timedelta(hours=hours)
    with engine.begin() as conn:
        conn.execute(delete(WebSession).where(WebSession.expires_at < now))
        conn.execute(WebSession.__table__.insert().values(
            id_hash=_digest(cookie), user_id=user.id, csrf_token=csrf, created_at=now, expires_at=expires,
            last_seen_at=now))
    return Session(cookie, csrf, expires)


#: how stale a session's ``last_seen_at`` may get before a request writes it again
SEEN_RESOLUTION = timedelta(minutes=1)


def session_user(engine: Engine, cookie: str, idle: timedelta | None = None) -> tuple[User, str] | None:
    """The user and CSRF token of a live session, else None (expired, idle longer than ``idle``,
    ended or user disabled). A live session's last request is noted (at most once a minute)."""
    key = _digest(cookie)
    with engine.connect() as conn:
        row = conn.execute(select(U, S.c.csrf_token, S.c.expires_at, S.c.created_at, S.c.last_seen_at)
                           .join(S, S.c.user_id == U.c.id).where(S.c.id_hash == key)).first()
    now = _now()
    if row is None or _aware(row.expires_at) <= now or row.disabled:
        return None
    seen = _aware(row.last_seen_at or row.created_at)
    if idle is not None and seen + idle <= now:
        end_session(engine, cookie)
        return None
    if now - seen >= SEEN_RESOLUTION:
        with engine.begin() as conn:
            conn.execute(update(WebSession).where(WebSession.id_hash == key).values(last_seen_at=now))
    return _user(row), row.csrf_token


def end_session(engine: Engine, cookie: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(WebSession).where(WebSession.id_hash == _digest(cookie)))


@dataclass(frozen=True)
class Token:
    """An API token as its owner and the administrator see it (never its value)."""

    id: int
    user: str
    label: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked: bool

    @property
    def status(self) -> str:
        return "revoked" if self.revoked else "expired" if self.expires_at <= _now() else "live"


def create_token(engine: Engine, name: str, label: str, days: int = TOKEN_DAYS) -> str:
    """A new API token for user ``name`` valid for ``days`` (returned once; only its hash is kept)."""
    user = find_user(engine, name)
    if user.disabled:
        raise UserError(f"用户 {name} 已停用", f"user {name} is disabled")
    with engine.begin() as conn:
        return _insert_token(conn, user.id, label, days)


def _insert_token(conn: Connection, user_id: int, label: str, days: int) -> str:
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise UserError(f"令牌有效期须为 1–{MAX_TOKEN_DAYS} 天", f"a token lasts 1 to {MAX_TOKEN_DAYS} days")
    token, now = "lr_" + secrets.token_urlsafe(32), _now()
    conn.execute(T.insert().values(user_id=user_id, label=label, token_hash=_digest(token), created_at=now,
                                   expires_at=now + timedelta(days=days), revoked=False))
    return token


def list_tokens(engine: Engine, name: str | None = None) -> list[Token]:
    """Every API token (of user ``name``), newest first."""
    query = select(T, U.c.name.label("user")).join(U, T.c.user_id == U.c.id).order_by(T.c.id.desc())
    if name is not None:
        query = query.where(U.c.id == find_user(engine, name).id)
    with engine.connect() as conn:
        return [Token(r.id, r.user, r.label, _aware(r.created_at), _aware(r.expires_at),
                      r.last_used_at and _aware(r.last_used_at), bool(r.revoked)) for r in conn.execute(query)]


def revoke_token(engine: Engine, token_id: int) -> Token:
    """Revoke one API token at once."""
    with engine.begin() as conn:
        if not conn.execute(update(T).where(T.c.id == token_id).values(revoked=True)).rowcount:
            raise UserError(f"没有令牌 {token_id}", f"no token {token_id}")
    return next(t for t in list_tokens(engine) if t.id == token_id)


def rotate_token(engine: Engine, token_id: int, days: int = TOKEN_DAYS) -> str:
    """Replace a live token by a new one of the same user and label (returned once); the old one is
    revoked in the same transaction."""
    with engine.begin() as conn:
        row = conn.execute(select(T, U.c.name, U.c.disabled).join(U, T.c.user_id == U.c.id)
                           .where(T.c.id == token_id)).first()
        if row is None:
            raise UserError(f"没有令牌 {token_id}", f"no token {token_id}")
        if row.revoked or row.disabled:
            raise UserError(f"令牌 {token_id} 已撤销或其用户已停用，请新建令牌",
                            f"token {token_id} is revoked or its user disabled: create a new one")
        token = _insert_token(conn, row.user_id, row.label, days)
        conn.execute(update(T).where(T.c.id == token_id).values(revoked=True))
    return token


def token_user(engine: Engine, token: str) -> User | None:
    """The enabled user of a live API token (not revoked, not expired), else None."""
    with engine.begin() as conn:
        row = conn.execute(select(U, T.c.id.label("token_id"), T.c.revoked, T.c.expires_at)
                           .join(T, T.c.user_id == U.c.id).where(T.c.token_hash == _digest(token))).first()
        if row is None or row.revoked or row.disabled or _aware(row.expires_at) <= _now():
            return None
        conn.execute(update(T).where(T.c.id == row.token_id).values(last_used_at=_now()))
    return _user(row)
