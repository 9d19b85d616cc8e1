"""`patrons serve | db upgrade | project create | keys …`"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table

from patrons import __version__
from patrons.db import database, migrate
from patrons.observability import configure_logging
from patrons.projects import repository as project_repository
from patrons.projects import service as projects
from patrons.settings import Settings

app = typer.Typer(help="Patrons: a self-hostable, Voucherify-compatible Customers API.")
db_app = typer.Typer(help="Database schema.")
project_app = typer.Typer(help="Projects (tenants).")
keys_app = typer.Typer(help="API keys (X-App-Id / X-App-Token).")
app.add_typer(db_app, name="db")
app.add_typer(project_app, name="project")
app.add_typer(keys_app, name="keys")
console = Console()
T = TypeVar("T")


def _version(value: bool) -> None:
    if value:
        console.print(f"patrons {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
) -> None:
    """Settings come from PATRONS_* environment variables (see the README)."""


def _with_db(settings: Settings, work: Callable[[database.Database], Awaitable[T]]) -> T:
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


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="API processes (use PostgreSQL for more than one)."),
) -> None:
    """Migrate the database, make sure the default project exists, and serve the API."""
    from granian import Granian
    from granian.constants import Interfaces

    settings = Settings.from_env()
    migrate.upgrade(settings.database_url)

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
    console.print(f"Patrons {__version__} on http://{host}:{port} ({settings.database_url})")
    Granian(
        "patrons.api.app:create_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        log_access=False,
    ).serve()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (serve does this too)."""
    settings = Settings.from_env()
    migrate.upgrade(settings.database_url)
    console.print("Database is at the latest schema.")


@project_app.command("create")
def project_create(name: str) -> None:
    """Create a project and print its App ID and App Token."""
    settings = Settings.from_env()
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
    table = Table("Project ID", "Name", "Customers", "Default")
    for row in rows:
        table.add_row(
            row["id"], row["name"], str(row["customer_count"]), "yes" if row["is_default"] else ""
        )
    console.print(table)


@keys_app.command("list")
def keys_list(project_id: str = typer.Argument(None, help="Only this project's keys.")) -> None:
    """List API keys (App IDs only: tokens are stored hashed)."""
    settings = Settings.from_env()

    async def work(db: database.Database) -> list[database.Row]:
        return await project_repository.list_keys(db, project_id=project_id)

    table = Table("App ID", "Project ID", "Name")
    for row in _with_db(settings, work):
        table.add_row(row["app_id"], row["project_id"], row["name"])
    console.print(table)


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


@app.command()
def worker() -> None:
    """Run a job worker alone (any number, on any machine, against one database)."""
    import signal

    from patrons import assembly
    from patrons.async_actions import handlers as job_handlers
    from patrons.worker.runner import Worker

    assembly.install()
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    migrate.upgrade(settings.database_url)

    async def run() -> None:
        db = await database.connect(settings.database_url, pg_pool_min=1, pg_pool_max=2)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await Worker(
                db,
                handlers=job_handlers.registered(),
                chunk_rows=settings.worker_chunk_rows,
                lease_ms=settings.worker_lease_ms,
            ).run(stop)
        finally:
            await db.close()

    console.print(f"Patrons worker on {settings.database_url}")
    asyncio.run(run())


@app.command("import")
def import_csv(
    path: str = typer.Argument(..., help="CSV file with a header row."),
    url: str = typer.Option("http://127.0.0.1:8000", help="Patrons base URL."),
    app_id: str = typer.Option(None, envvar="PATRONS_APP_ID", help="X-App-Id."),
    app_token: str = typer.Option(None, envvar="PATRONS_APP_TOKEN", help="X-App-Token."),
    timeout: float = typer.Option(3600.0, help="Seconds to wait for the import to finish."),
) -> None:
    """Upload a CSV through the API and follow the import with a progress bar."""
    import time
    from pathlib import Path

    import httpx
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if not app_id or not app_token:
        raise typer.BadParameter("--app-id and --app-token (or PATRONS_APP_ID/TOKEN) are needed")
    headers = {"X-App-Id": app_id, "X-App-Token": app_token}
    file = Path(path)
    with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
        with file.open("rb") as handle:
            response = client.post(
                "/v1/customers/importCSV", files={"file": (file.name, handle, "text/csv")}
            )
        if response.status_code != 202:
            console.print(f"[red]Upload refused ({response.status_code}):[/red] {response.text}")
            raise typer.Exit(1)
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
    result = action.get("result") or {}
    if action["status"] != "DONE":
        console.print(f"[red]Import {action_id} is {action['status']}[/red]: {result}")
        raise typer.Exit(1)
    done, failed = result.get("done_count", 0), result.get("failed_count", 0)
    created = result.get("created_count", 0)
    console.print(
        f"Import {action_id}: [green]{created} created[/green], {done - created} updated,"
        f" [red]{failed} failed[/red]"
    )
    for failure in result.get("failed", [])[:10]:
        console.print(f"  row {failure['row']} ({failure['source_id']!r}): {failure['reason']}")
    if failed:
        raise typer.Exit(2)
