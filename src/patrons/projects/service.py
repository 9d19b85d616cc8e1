"""Projects (tenants) and their keys: creation, the default project, authentication."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from patrons.core import ids
from patrons.core.clock import now_ms
from patrons.core.errors import Unauthorized
from patrons.db.database import Conn, Database
from patrons.projects import repository


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    app_id: str


@dataclass(frozen=True, slots=True)
class Credentials:
    project_id: str
    app_id: str
    app_token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create(conn: Conn, *, name: str, is_default: bool = False) -> Credentials:
    """A new project with one key pair; the token is returned once and stored hashed."""
    project_id = ids.project_id()
    await repository.insert_project(
        conn, project_id=project_id, name=name, is_default=is_default, created_at=now_ms()
    )
    return await add_key(conn, project_id=project_id)


async def add_key(
    conn: Conn, *, project_id: str, app_id: str | None = None, app_token: str | None = None
) -> Credentials:
    app_id = app_id or ids.app_id()
    app_token = app_token or ids.app_token()
    await repository.insert_key(
        conn,
        project_id=project_id,
        app_id=app_id,
        name="Backend",
        token_hash=hash_token(app_token),
        created_at=now_ms(),
    )
    return Credentials(project_id, app_id, app_token)


async def rotate(conn: Conn, *, app_id: str) -> Credentials | None:
    row = await repository.get_key(conn, app_id=app_id)
    if row is None:
        return None
    token = ids.app_token()
    await repository.set_token_hash(
        conn, app_id=app_id, token_hash=hash_token(token), rotated_at=now_ms()
    )
    return Credentials(row["project_id"], app_id, token)


async def ensure_default(
    conn: Conn, *, name: str, app_id: str | None, app_token: str | None
) -> tuple[str, Credentials | None]:
    """The default project exists afterwards. Returns (project id, credentials to show or None).

    With `app_id`+`app_token` given they become a key of the default project (created, or its
    token updated); otherwise a fresh key pair is made only when the project is first created.
    """
    project = await repository.get_default_project(conn)
    fresh: Credentials | None = None
    if project is None:
        project_id = ids.project_id()
        await repository.insert_project(
            conn, project_id=project_id, name=name, is_default=True, created_at=now_ms()
        )
        if app_id is None or app_token is None:
            fresh = await add_key(conn, project_id=project_id)
    else:
        project_id = project["id"]
    if app_id is not None and app_token is not None:
        existing = await repository.get_key(conn, app_id=app_id)
        if existing is None:
            await add_key(conn, project_id=project_id, app_id=app_id, app_token=app_token)
        elif existing["project_id"] != project_id:
            raise ValueError(f"app id {app_id!r} belongs to another project")
        elif existing["token_hash"] != hash_token(app_token):
            await repository.set_token_hash(
                conn, app_id=app_id, token_hash=hash_token(app_token), rotated_at=now_ms()
            )
        fresh = Credentials(project_id, app_id, app_token)
    return project_id, fresh


async def key_of(db: Database | Conn, *, app_id: str) -> tuple[str, str] | None:
    """(project id, stored token hash) of an App ID, or None: what the cockpit's session
    signature is keyed by, so rotating or deleting the key ends its sessions."""
    row = await repository.get_key(db, app_id=app_id)
    return None if row is None else (row["project_id"], row["token_hash"])


class Authenticator:
    """Verifies X-App-Id/X-App-Token. A verified pair is trusted for `ttl` seconds, so a
    rotated or deleted key stops working on every process within that many seconds."""

    def __init__(self, db: Database, *, ttl: float) -> None:
        self.db = db
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, Project]] = {}

    async def authenticate(self, app_id: str | None, app_token: str | None) -> Project:
        if not app_id or not app_token:
            raise Unauthorized()
        key = (app_id, app_token)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        row = await repository.get_key(self.db, app_id=app_id)
        if row is None or not hmac.compare_digest(row["token_hash"], hash_token(app_token)):
            raise Unauthorized()
        project = Project(row["project_id"], app_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now + self.ttl, project)
        return project
