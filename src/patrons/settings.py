"""Settings, read once from the environment (PATRONS_*)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("json", "text")
_SCHEMES = ("sqlite:", "postgresql:", "postgres:", "postgresql+asyncpg:")


class SettingsError(ValueError):
    """A PATRONS_* variable with a value Patrons cannot use; the message names the variable."""


def mask_url(url: str) -> str:
    """The URL with its password (in the authority or a `password=` parameter) as `***`."""
    masked = re.sub(r"^([a-z][a-z0-9+.-]*://[^/@:]*):[^/@]*@", r"\1:***@", url, flags=re.I)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", masked, flags=re.I)


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {raw!r}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not value >= 0:
        raise SettingsError(f"{name} must be zero or more, not {raw!r}")
    return value


def _choice(name: str, default: str, choices: tuple[str, ...], *, upper: bool) -> str:
    raw = os.environ.get(name)
    if not raw:
        return default
    value = raw.strip().upper() if upper else raw.strip().lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return value


def _flag(raw: str | None, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    return raw.strip().lower() not in ("0", "false", "no", "off")


def default_chunk_rows(database_url: str) -> int:
    """A job chunk's rows unless PATRONS_WORKER_CHUNK_ROWS says: 5,000 on SQLite, whose worker
    then sizes chunks to its WAL budget (worker/runner.py); 10,000 on PostgreSQL, which bounds
    no transaction's log — each chunk has fixed costs on the server (statements, trigger,
    commit): a 1M-row import took 44 s in 10,000-row chunks against 49 s in 5,000-row ones
    (medians of alternating runs, in process)."""
    return 5000 if database_url.startswith("sqlite:") else 10_000


def check_database_url(url: str, name: str = "PATRONS_DATABASE_URL") -> str:
    """The URL when Patrons can use it; else SettingsError saying why (password masked)."""
    shown = mask_url(url)
    if not url.lower().startswith(_SCHEMES):
        raise SettingsError(
            f"{name} must be sqlite:///file.db or postgresql://user@host:port/db, not {shown!r}"
        )
    if url.lower().startswith("sqlite:"):
        path = url.split(":", 1)[1].lstrip("/")
        if path in ("", ":memory:") or "mode=memory" in url:
            raise SettingsError(
                f"{name}={shown} is refused: an in-memory SQLite database lives in one"
                " connection of one process, so the server, its worker and the admin commands"
                " would each see a different empty database; use a file, e.g."
                " sqlite:///patrons.db"
            )
        return url
    try:
        parts = urlsplit(url)
        _ = parts.port  # a non-number port raises here
    except ValueError as exc:
        raise SettingsError(f"{name} is not a valid PostgreSQL URL ({exc}): {shown!r}") from None
    if not parts.path.strip("/"):
        raise SettingsError(f"{name} names no database (…/DBNAME at the end): {shown!r}")
    return url


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
    # Rows per committed job chunk; unset, `default_chunk_rows` of the database.
    worker_chunk_rows: int = 5000
    # A claimed job whose worker stops heartbeating is picked up again after this long.
    worker_lease_ms: int = 30_000
    # An idle worker is woken when a job is enqueued; it also looks for work this often (the
    # fallback, and how expired leases of killed workers are found).
    worker_poll_seconds: float = 0.5
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
    # The admin pages under /cockpit (sign in with a project's App ID and App Token).
    cockpit: bool = True
    # Mixed into the cockpit's session signatures (which are keyed by the App key's stored
    # hash): set it to end every cockpit session at once, or to keep a database reader from
    # forging one.
    cockpit_secret: str = ""
    # Webhook deliveries (webhooks/dispatcher.py): a failed attempt is retried after
    # base·2^(n-1) seconds, up to `max_attempts` attempts, then the webhook is disabled; an
    # attempt gives up after `timeout` seconds. Loopback targets are allowed (local
    # development), private and other non-public addresses are not (README, "Webhooks").
    webhook_retry_base_seconds: float = 60.0
    webhook_max_attempts: int = 12
    webhook_timeout_seconds: float = 10.0
    webhook_allow_loopback: bool = True
    webhook_allow_private: bool = False

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from PATRONS_* variables; SettingsError names the first unusable one."""
        env = os.environ
        d = cls()
        database_url = check_database_url(env.get("PATRONS_DATABASE_URL") or d.database_url)
        return cls(
            database_url=database_url,
            app_id=env.get("PATRONS_APP_ID") or None,
            app_token=env.get("PATRONS_APP_TOKEN") or None,
            default_project_name=env.get("PATRONS_DEFAULT_PROJECT_NAME") or d.default_project_name,
            max_body_bytes=_int("PATRONS_MAX_BODY_BYTES", d.max_body_bytes, minimum=1),
            auth_cache_seconds=_float("PATRONS_AUTH_CACHE_SECONDS", d.auth_cache_seconds),
            pg_pool_min=_int("PATRONS_PG_POOL_MIN", d.pg_pool_min, minimum=1),
            pg_pool_max=_int("PATRONS_PG_POOL_MAX", d.pg_pool_max, minimum=1),
            embedded_worker=_flag(env.get("PATRONS_EMBEDDED_WORKER"), d.embedded_worker),
            worker_chunk_rows=_int(
                "PATRONS_WORKER_CHUNK_ROWS", default_chunk_rows(database_url), minimum=1
            ),
            worker_lease_ms=_int("PATRONS_WORKER_LEASE_MS", d.worker_lease_ms, minimum=1),
            worker_poll_seconds=_float("PATRONS_WORKER_POLL_SECONDS", d.worker_poll_seconds),
            log_level=_choice("PATRONS_LOG_LEVEL", d.log_level, LOG_LEVELS, upper=True),
            log_format=_choice("PATRONS_LOG_FORMAT", d.log_format, LOG_FORMATS, upper=False),
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
            cockpit=_flag(env.get("PATRONS_COCKPIT"), d.cockpit),
            cockpit_secret=env.get("PATRONS_COCKPIT_SECRET") or d.cockpit_secret,
            webhook_retry_base_seconds=_float(
                "PATRONS_WEBHOOK_RETRY_BASE_SECONDS", d.webhook_retry_base_seconds
            ),
            webhook_max_attempts=_int(
                "PATRONS_WEBHOOK_MAX_ATTEMPTS", d.webhook_max_attempts, minimum=1
            ),
            webhook_timeout_seconds=_float(
                "PATRONS_WEBHOOK_TIMEOUT_SECONDS", d.webhook_timeout_seconds
            ),
            webhook_allow_loopback=_flag(
                env.get("PATRONS_WEBHOOK_ALLOW_LOOPBACK"), d.webhook_allow_loopback
            ),
            webhook_allow_private=_flag(
                env.get("PATRONS_WEBHOOK_ALLOW_PRIVATE"), d.webhook_allow_private
            ),
        )
