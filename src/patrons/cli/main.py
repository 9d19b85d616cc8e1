"""`patrons serve | db upgrade | project create | keys …`"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import typer
from rich.console import Console

from patrons import __version__
from patrons.cli import tools as project_tools
from patrons.cli.errors import USAGE, PatronsTyper, Problem, set_debug
from patrons.db import database, migrate, preflight
from patrons.projects import repository as project_repository
from patrons.projects import service as projects
from patrons.settings import Settings, mask_url

app = PatronsTyper(help="Patrons: a self-hostable, Voucherify-compatible Customers API.")
db_app = typer.Typer(help="Database schema.")
project_app = typer.Typer(help="Projects (tenants).")
keys_app = typer.Typer(help="API keys (X-App-Id / X-App-Token).")
app.add_typer(db_app, name="db")
app.add_typer(project_app, name="project")
app.add_typer(keys_app, name="keys")
webhooks_app = typer.Typer(help="Webhooks: configurations, signing secret, delivery log.")
app.add_typer(webhooks_app, name="webhooks")
project_tools.register(app, project_app)  # project reset | export | import, seed
console = Console()
T = TypeVar("T")


def _version(value: bool) -> None:
    if value:
        console.print(f"patrons {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of failures."),
) -> None:
    """Settings come from PATRONS_* environment variables (see the README)."""
    set_debug(debug)


WAIT_FOR_DB = typer.Option(
    0.0,
    "--wait-for-db",
    metavar="SECONDS",
    min=0,
    help="Keep retrying an unreachable database this long (one that is still starting).",
)


def _with_db(settings: Settings, work: Callable[[database.Database], Awaitable[T]]) -> T:
    """Run `work` on the existing, migrated database (never creates one: says what's missing)."""
    preflight.check(settings.database_url, need_schema=True)

    async def run() -> T:
        db = await database.connect(settings.database_url, pg_pool_min=1, pg_pool_max=2)
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(run())


def _show(creds: projects.Credentials, title: str) -> None:
    console.print(f"[bold]{title}[/bold]")
    console.print(f"  Project ID: {creds.project_id}")
    console.print(f"  App ID:     [green]{creds.app_id}[/green]")
    console.print(f"  App Token:  [green]{creds.app_token}[/green]")
    print(f"  Shell:      export APP_ID={creds.app_id} APP_TOKEN={creds.app_token}")


def _print_rows(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Aligned plain lines, whole at any terminal width (scripts read ids from them)."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    for line in (headers, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def _check_port(host: str, port: int) -> None:
    """Refuse a taken port before starting: granian listens with SO_REUSEPORT, so a second
    server would otherwise share the port with the first and split its requests."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise Problem(f"cannot listen on --host {host}: {exc.strerror}", USAGE) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no owner
        try:
            probe.bind(address)
            probe.listen(1)
        except OSError as exc:
            taken = " (another server uses it: stop it or pick another --port)"
            raise Problem(
                f"cannot listen on {host}:{port}: {exc.strerror}"
                + (taken if exc.errno == errno.EADDRINUSE else "")
            ) from None


def _start_database(settings: Settings, wait_for_db: float) -> None:
    """Make the database usable for a server or worker: create it when missing, migrate."""
    preflight.check(settings.database_url, create=True, wait_seconds=wait_for_db)
    migrate.upgrade(settings.database_url)


def _metrics_dir(workers: int) -> str | None:
    """With several API processes, a per-run directory where prometheus-client's multiprocess
    mode keeps every process's metrics, so /metrics on any process reports them all."""
    if workers < 2:
        return None
    import tempfile

    path = tempfile.mkdtemp(prefix="patrons-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="API processes (use PostgreSQL for more than 1)."),
    wait_for_db: float = WAIT_FOR_DB,
) -> None:
    """Migrate the database, make sure the default project exists, and serve the API."""
    import shutil

    from granian import Granian
    from granian.constants import Interfaces

    settings = Settings.from_env()
    _check_port(host, port)
    _start_database(settings, wait_for_db)

    async def default_project(db: database.Database) -> projects.Credentials | None:
        async with db.transaction() as conn:
            _, creds = await projects.ensure_default(
                conn,
                name=settings.default_project_name,
                app_id=settings.app_id,
                app_token=settings.app_token,
            )
            return creds

    creds = _with_db(settings, default_project)
    if creds is not None and settings.app_token is None:
        _show(creds, "Default project created. Keep these keys; the token is not shown again:")
    # print(), not Rich: the line stays whole at any terminal width.
    print(f"Patrons {__version__} on http://{host}:{port} ({mask_url(settings.database_url)})")
    # API worker processes watch this process and exit with it (patrons.api.orphans).
    os.environ["PATRONS_SERVE_PID"] = str(os.getpid())
    metrics_dir = _metrics_dir(workers)
    try:
        Granian(
            "patrons.api.app:create_app",
            factory=True,
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            log_access=False,
        ).serve()
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@db_app.command("upgrade")
def db_upgrade(wait_for_db: float = WAIT_FOR_DB) -> None:
    """Create the database when missing and apply every pending migration (serve does too)."""
    settings = Settings.from_env()
    _start_database(settings, wait_for_db)
    console.print("Database is at the latest schema.")


@project_app.command("create")
def project_create(name: str) -> None:
    """Create a project and print its App ID and App Token."""
    settings = Settings.from_env()
    preflight.check(settings.database_url)  # an existing database only
    migrate.upgrade(settings.database_url)

    async def work(db: database.Database) -> projects.Credentials:
        async with db.transaction() as conn:
            return await projects.create(conn, name=name)

    _show(_with_db(settings, work), f"Project {name!r} created:")


@project_app.command("list")
def project_list() -> None:
    """List projects."""
    settings = Settings.from_env()
    rows = _with_db(settings, project_repository.list_projects)
    _print_rows(
        ("Project ID", "Name", "Customers", "Default"),
        [
            (row["id"], row["name"], str(row["customer_count"]), "yes" if row["is_default"] else "")
            for row in rows
        ],
    )


@keys_app.command("list")
def keys_list(project_id: str = typer.Argument(None, help="Only this project's keys.")) -> None:
    """List API keys (App IDs only: tokens are stored hashed)."""
    settings = Settings.from_env()

    async def work(db: database.Database) -> list[database.Row]:
        return await project_repository.list_keys(db, project_id=project_id)

    rows = _with_db(settings, work)
    _print_rows(
        ("App ID", "Project ID", "Name"), [(r["app_id"], r["project_id"], r["name"]) for r in rows]
    )


@keys_app.command("create")
def keys_create(project_id: str) -> None:
    """Add a key pair to a project."""
    settings = Settings.from_env()

    async def work(db: database.Database) -> projects.Credentials:
        async with db.transaction() as conn:
            if await project_repository.get_project(conn, project_id=project_id) is None:
                raise typer.BadParameter(f"no project {project_id}")
            return await projects.add_key(conn, project_id=project_id)

    _show(_with_db(settings, work), "Key created:")


@keys_app.command("rotate")
def keys_rotate(app_id: str) -> None:
    """Give an App ID a new token; the old one stops working (within the auth cache TTL)."""
    settings = Settings.from_env()

    async def work(db: database.Database) -> projects.Credentials | None:
        async with db.transaction() as conn:
            return await projects.rotate(conn, app_id=app_id)

    creds = _with_db(settings, work)
    if creds is None:
        console.print(f"[red]No key with App ID {app_id}[/red]")
        raise typer.Exit(1)
    _show(creds, "Token rotated:")


@keys_app.command("delete")
def keys_delete(app_id: str) -> None:
    """Delete a key pair."""
    settings = Settings.from_env()

    async def work(db: database.Database) -> int:
        async with db.transaction() as conn:
            return await project_repository.delete_key(conn, app_id=app_id)

    if not _with_db(settings, work):
        console.print(f"[red]No key with App ID {app_id}[/red]")
        raise typer.Exit(1)
    console.print(f"Deleted {app_id}.")


# --- patrons webhooks … ---------------------------------------------------------------------------


def _webhooks_work(
    project_id: str, work: Callable[[database.Database], Awaitable[T]]
) -> Callable[[database.Database], Awaitable[T]]:
    """`work` on an existing project; a missing project or an API-level refusal (a bad URL,
    an unknown event, an unknown webhook) becomes the command's one-line error."""
    from patrons.core.errors import PatronsError

    async def run(db: database.Database) -> T:
        if await project_repository.get_project(db, project_id=project_id) is None:
            raise Problem(f"no project {project_id} (see `patrons project list`)")
        try:
            return await work(db)
        except PatronsError as exc:
            raise Problem(str(exc.details or exc.message)) from None

    return run


@webhooks_app.command("list")
def webhooks_list(project_id: str) -> None:
    """List a project's webhooks."""
    from patrons.webhooks import service as webhooks

    settings = Settings.from_env()

    async def work(db: database.Database) -> Any:
        return await webhooks.list_(db, project_id=project_id)

    found = _with_db(settings, _webhooks_work(project_id, work))
    _print_rows(
        ("Webhook ID", "Active", "Target URL", "Events"),
        [(w.id, "yes" if w.active else "no", w.target_url, ",".join(w.events)) for w in found.data],
    )


@webhooks_app.command("create")
def webhooks_create(
    project_id: str,
    target_url: str,
    event: list[str] = typer.Option(
        ..., "--event", "-e", help="An event type to send (repeat for more)."
    ),
    inactive: bool = typer.Option(False, "--inactive", help="Create it switched off."),
) -> None:
    """Add a webhook: TARGET_URL receives the listed events as signed POSTs."""
    from patrons.webhooks import service as webhooks
    from patrons.webhooks.schemas import WebhookWrite

    settings = Settings.from_env()

    async def work(db: database.Database) -> Any:
        async with db.transaction() as conn:
            return await webhooks.create(
                conn,
                project_id=project_id,
                body=WebhookWrite(target_url=target_url, events=event, active=not inactive),
            )

    made = _with_db(settings, _webhooks_work(project_id, work))
    print(f"Webhook created ({'active' if made.active else 'inactive'}): {made.id}")


@webhooks_app.command("delete")
def webhooks_delete(project_id: str, webhook_id: str) -> None:
    """Delete a webhook and its delivery log."""
    from patrons.webhooks import service as webhooks

    settings = Settings.from_env()

    async def work(db: database.Database) -> None:
        async with db.transaction() as conn:
            await webhooks.delete(conn, project_id=project_id, webhook_id=webhook_id)

    _with_db(settings, _webhooks_work(project_id, work))
    print(f"Deleted {webhook_id}.")


@webhooks_app.command("secret")
def webhooks_secret(
    project_id: str,
    rotate: bool = typer.Option(False, "--rotate", help="Replace it with a new one."),
) -> None:
    """Print the project's signing secret (the last word of the output)."""
    from patrons.webhooks import service as webhooks

    settings = Settings.from_env()

    async def work(db: database.Database) -> str:
        async with db.transaction() as conn:
            return await webhooks.secret(conn, project_id=project_id, rotate=rotate)

    value = _with_db(settings, _webhooks_work(project_id, work))
    print(f"{'New signing' if rotate else 'Signing'} secret of {project_id}: {value}")


@webhooks_app.command("log")
def webhooks_log(
    project_id: str,
    webhook_id: str = typer.Argument(None, help="Only this webhook's deliveries."),
    limit: int = typer.Option(50, min=1, max=1000, help="How many, newest first."),
) -> None:
    """Deliveries, newest first: event, status, attempts, last HTTP status and error."""
    from patrons.webhooks import service as webhooks

    settings = Settings.from_env()

    async def work(db: database.Database) -> list[database.Row]:
        return await webhooks.delivery_log(
            db, project_id=project_id, webhook_id=webhook_id, limit=limit
        )

    rows = _with_db(settings, _webhooks_work(project_id, work))
    _print_rows(
        (
            "Delivery ID",
            "Webhook ID",
            "Event ID",
            "Type",
            "Status",
            "Attempts",
            "HTTP",
            "Next attempt",
            "Last error",
        ),
        [
            (
                r["id"],
                r["webhook_id"],
                r["event_id"],
                r["event_type"],
                r["status"],
                str(r["attempts"]),
                "" if r["last_status"] is None else str(r["last_status"]),
                _next_attempt(r["status"], r["next_at"]),
                r["last_error"] or "",
            )
            for r in rows
        ],
    )


def _next_attempt(status: str, next_at: int) -> str:
    from patrons.core.clock import format_ms
    from patrons.webhooks.repository import PARKED

    if status != "PENDING":
        return ""
    return "when switched on" if next_at >= PARKED else format_ms(next_at)


@app.command()
def worker(wait_for_db: float = WAIT_FOR_DB) -> None:
    """Run a job worker alone (any number, on any machine, against one database)."""
    import signal

    from patrons import assembly
    from patrons.async_actions import handlers as job_handlers
    from patrons.observability import configure_logging
    from patrons.worker import runner

    settings = Settings.from_env()
    assembly.install()
    configure_logging(settings.log_level, settings.log_format)
    _start_database(settings, wait_for_db)

    async def run() -> None:
        db = await runner.connect(settings.database_url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await runner.Worker(
                db,
                handlers=job_handlers.registered(),
                chunk_rows=settings.worker_chunk_rows,
                lease_ms=settings.worker_lease_ms,
                poll=settings.worker_poll_seconds,
                services=assembly.services(),
            ).run(stop)
        finally:
            await db.close()

    print(f"Patrons worker on {mask_url(settings.database_url)}", flush=True)
    asyncio.run(run())


# `patrons import` exit codes (README, "Importing a CSV").
IMPORT_DONE, IMPORT_ROWS_FAILED, IMPORT_USAGE, IMPORT_NOT_RUN = 0, 1, 2, 3


@app.command("import")
def import_csv(
    path: str = typer.Argument(..., help="CSV file with a header row."),
    url: str = typer.Option("http://127.0.0.1:8000", help="Patrons base URL."),
    app_id: str = typer.Option(None, envvar="PATRONS_APP_ID", help="X-App-Id."),
    app_token: str = typer.Option(None, envvar="PATRONS_APP_TOKEN", help="X-App-Token."),
    timeout: float = typer.Option(3600.0, help="Seconds to wait for the import to finish."),
) -> None:
    """Upload a CSV through the API and follow the import with a progress bar.

    Exit codes: 0 every row imported, 1 some rows failed (listed), 2 usage mistake (missing
    file or keys, bad URL), 3 the import did not run (server unreachable, upload refused, job
    failed or still running at --timeout).
    """
    import time
    from pathlib import Path

    import httpx
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if not app_id or not app_token:
        raise Problem("--app-id and --app-token (or PATRONS_APP_ID/TOKEN) are needed", USAGE)
    if not url.startswith(("http://", "https://")):
        raise Problem(f"--url must start with http:// or https://, not {url!r}", USAGE)
    file = Path(path)
    if not file.is_file():
        raise Problem(f"no file {path} (in {os.getcwd()})", USAGE)
    headers = {"X-App-Id": app_id, "X-App-Token": app_token}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
            with file.open("rb") as handle:
                response = client.post(
                    "/v1/customers/importCSV", files={"file": (file.name, handle, "text/csv")}
                )
            if response.status_code != 202:
                raise Problem(
                    f"upload refused by {url} ({response.status_code}): {response.text[:300]}",
                    IMPORT_NOT_RUN,
                )
            action_id = response.json()["async_action_id"]
            deadline = time.monotonic() + timeout
            with Progress(
                TextColumn(f"Importing {file.name}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                console=console,
            ) as bar:
                task = bar.add_task("import", total=100)
                while True:
                    action = client.get(f"/v1/async-actions/{action_id}").json()
                    bar.update(task, completed=action.get("progress", 0))
                    if action["status"] in ("DONE", "FAILED") or time.monotonic() > deadline:
                        break
                    time.sleep(0.25)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise Problem(f"--url {url!r} is not usable: {exc}", USAGE) from None
    except httpx.TransportError as exc:
        reason = str(exc) or type(exc).__name__
        raise Problem(
            f"cannot reach Patrons at {url}: {reason} (is `patrons serve` running there?)",
            IMPORT_NOT_RUN,
        ) from None
    result = action.get("result") or {}
    if action["status"] != "DONE":
        raise Problem(f"import {action_id} is {action['status']}: {result}", IMPORT_NOT_RUN)
    done, failed = result.get("done_count", 0), result.get("failed_count", 0)
    created = result.get("created_count", 0)
    console.print(
        f"Import {action_id}: [green]{created} created[/green], {done - created} updated,"
        f" [red]{failed} failed[/red]"
    )
    for failure in result.get("failed", [])[:10]:
        console.print(f"  row {failure['row']} ({failure['source_id']!r}): {failure['reason']}")
    if failed:
        raise typer.Exit(IMPORT_ROWS_FAILED)
