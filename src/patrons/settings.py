"""Settings, read once from the environment (PATRONS_*)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _flag(raw: str | None, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    return raw.strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class Settings:
    # sqlite:///relative.db, sqlite:////abs/path.db or postgresql://user@host:port/db
    database_url: str = "sqlite:///patrons.db"
    # When both are set they are the default project's keys (created or updated on start).
    app_id: str | None = None
    app_token: str | None = None
    default_project_name: str = "Default project"
    # Request bodies above this many bytes get 413 (Voucherify's limit is 10 MB).
    max_body_bytes: int = 10 * 1024 * 1024
    # Seconds a verified (app id, token) pair is trusted without asking the database again.
    auth_cache_seconds: float = 5.0
    pg_pool_min: int = 2
    pg_pool_max: int = 10
    # `patrons serve` runs a job worker inside each API process unless this is off.
    embedded_worker: bool = True
    worker_chunk_rows: int = 5000
    # A claimed job whose worker stops heartbeating is picked up again after this long.
    worker_lease_ms: int = 30_000
    log_level: str = "INFO"
    log_format: str = "json"  # json | text
    # One log line per request (method, route template, status, duration, request id).
    access_log: bool = True
    # Lifetime of an OAuth access token (Voucherify: 900 s).
    oauth_token_ttl_seconds: int = 900
    # Per-project request budgets per fixed window; 0 turns a budget off (the default).
    # Bulk endpoints (bulk/async, metadata/async, importCSV) spend `bulk_api_calls` when it is
    # set, else `api_calls`.
    rate_limit_api_calls: int = 0
    rate_limit_bulk_api_calls: int = 0
    rate_limit_window_seconds: int = 60

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        d = cls()
        return cls(
            database_url=env.get("PATRONS_DATABASE_URL") or d.database_url,
            app_id=env.get("PATRONS_APP_ID") or None,
            app_token=env.get("PATRONS_APP_TOKEN") or None,
            default_project_name=env.get("PATRONS_DEFAULT_PROJECT_NAME") or d.default_project_name,
            max_body_bytes=_int("PATRONS_MAX_BODY_BYTES", d.max_body_bytes),
            auth_cache_seconds=float(env.get("PATRONS_AUTH_CACHE_SECONDS") or d.auth_cache_seconds),
            pg_pool_min=_int("PATRONS_PG_POOL_MIN", d.pg_pool_min),
            pg_pool_max=_int("PATRONS_PG_POOL_MAX", d.pg_pool_max),
            embedded_worker=_flag(env.get("PATRONS_EMBEDDED_WORKER"), d.embedded_worker),
            worker_chunk_rows=_int("PATRONS_WORKER_CHUNK_ROWS", d.worker_chunk_rows),
            worker_lease_ms=_int("PATRONS_WORKER_LEASE_MS", d.worker_lease_ms),
            log_level=env.get("PATRONS_LOG_LEVEL") or d.log_level,
            log_format=env.get("PATRONS_LOG_FORMAT") or d.log_format,
            access_log=_flag(env.get("PATRONS_ACCESS_LOG"), d.access_log),
            oauth_token_ttl_seconds=_int(
                "PATRONS_OAUTH_TOKEN_TTL_SECONDS", d.oauth_token_ttl_seconds
            ),
            rate_limit_api_calls=_int("PATRONS_RATE_LIMIT_API_CALLS", d.rate_limit_api_calls),
            rate_limit_bulk_api_calls=_int(
                "PATRONS_RATE_LIMIT_BULK_API_CALLS", d.rate_limit_bulk_api_calls
            ),
            rate_limit_window_seconds=_int(
                "PATRONS_RATE_LIMIT_WINDOW_SECONDS", d.rate_limit_window_seconds
            ),
        )
