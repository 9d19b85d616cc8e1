"""`patrons project reset | export | import` and `patrons seed` (patrons.tools behind them).

Registered on the CLI's apps by `register()`; the database is opened as every admin command
opens it (`main._with_db`: an existing, migrated database only).
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from patrons.db import database
from patrons.settings import Settings

T = TypeVar("T")
# Progress and messages go to stderr: `project export ID -` writes the export to stdout.
err = Console(stderr=True)


def _with_db(work: Callable[[database.Database], Awaitable[T]]) -> T:
    from patrons.cli.main import _with_db as with_db

    return with_db(Settings.from_env(), work)


def _refuse(message: str) -> typer.Exit:
    """One plain line on stderr (never wrapped: scripts and tests read it) and exit code 1."""
    print(f"patrons: {message}", file=sys.stderr, flush=True)
    return typer.Exit(1)


@contextmanager
def _bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def project_reset(
    project_id: str = typer.Argument(..., help="The project to empty."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Erase all of a project's data (customers, events, segments, campaigns, jobs …); the
    project and its API keys stay, so clients keep working against an empty project."""
    from patrons.tools import portability

    if not yes and not typer.confirm(f"Erase every customer and all data of {project_id}?"):
        raise _refuse("reset cancelled")

    async def work(db: database.Database) -> dict[str, int]:
        return await portability.reset(db, project_id=project_id)

    try:
        deleted = _with_db(work)
    except portability.ToolError as exc:
        raise _refuse(str(exc)) from None
    shown = ", ".join(f"{n} {name}" for name, n in sorted(deleted.items()) if n)
    print(
        f"Reset {project_id}: {sum(deleted.values())} rows deleted ({shown or 'none'}); keys kept."
    )


def project_export(
    project_id: str = typer.Argument(..., help="The project to export."),
    file: str = typer.Argument(..., help="Where to write the JSON lines ('-': standard output)."),
) -> None:
    """Write every table's rows of one project to FILE as JSON lines (`project import` reads
    it into this or another database, SQLite or PostgreSQL)."""
    from patrons.tools import portability

    async def work(db: database.Database) -> dict[str, int]:
        total = sum((await portability.count(db, project_id=project_id)).values())
        with _bar("Exporting", total) as advance:
            if file == "-":
                return await portability.export(
                    db, project_id=project_id, out=sys.stdout, progress=advance
                )
            with Path(file).open("w", encoding="utf-8") as out:
                return await portability.export(
                    db, project_id=project_id, out=out, progress=advance
                )

    try:
        written = _with_db(work)
    except portability.ToolError as exc:
        raise _refuse(str(exc)) from None
    except OSError as exc:
        raise _refuse(f"cannot write {file}: {exc.strerror}") from None
    err.print(f"Exported {project_id}: {sum(written.values())} rows to {file}.", highlight=False)


def project_import(
    file: str = typer.Argument(..., help="A file written by `patrons project export`."),
    replace: bool = typer.Option(
        False, "--replace", help="Erase the project here first when it exists."
    ),
) -> None:
    """Load a project export into this database (same project id, same App keys)."""
    from patrons.tools import portability

    path = Path(file)
    if not path.is_file():
        raise _refuse(f"no such file: {file}")

    async def work(db: database.Database) -> tuple[str, dict[str, int]]:
        with path.open(encoding="utf-8") as source, _bar("Importing", None) as advance:
            return await portability.import_(db, source=source, replace=replace, progress=advance)

    try:
        project_id, counts = _with_db(work)
    except portability.ToolError as exc:
        raise _refuse(f"{file}: {exc}") from None
    print(f"Imported {project_id}: {sum(counts.values())} rows from {file}.")


def seed(
    customers: int = typer.Option(200, "--customers", "-n", min=0, help="Customers to create."),
    project: str = typer.Option(
        None, "--project", help="Project ID (default: the default project, created if missing)."
    ),
    random_seed: int = typer.Option(None, "--random-seed", help="Repeatable data for this seed."),
) -> None:
    """Fill a project with realistic demo data: customers, segments, campaigns and activity
    (publications, loyalty cards, profile updates), through the same services as the API."""
    from patrons.projects import repository as project_repository
    from patrons.projects import service as projects
    from patrons.tools import seed as seeding

    settings = Settings.from_env()

    async def work(
        db: database.Database,
    ) -> tuple[str, seeding.Seeded, projects.Credentials | None]:
        creds = None
        if project is None:
            async with db.transaction() as conn:
                project_id, creds = await projects.ensure_default(
                    conn,
                    name=settings.default_project_name,
                    app_id=settings.app_id,
                    app_token=settings.app_token,
                )
        elif await project_repository.get_project(db, project_id=project) is None:
            raise _refuse(f"no project {project}")
        else:
            project_id = project
        with _bar(f"Seeding {project_id}", customers) as advance:
            done = await seeding.seed(
                db,
                project_id=project_id,
                customers_count=customers,
                random_seed=random_seed,
                progress=advance,
            )
        return project_id, done, creds

    project_id, done, creds = _with_db(work)
    if creds is not None and settings.app_token is None:
        print("Default project created. Keep these keys; the token is not shown again:")
        print(f"  App ID:     {creds.app_id}")
        print(f"  App Token:  {creds.app_token}")
    print(
        f"Seeded {project_id}: {done.customers_created} customers created"
        f" ({done.customers_existing} already there), {done.profile_updates} profile updates,"
        f" {done.publications} publications,"
        f" segments: {', '.join(done.segments) or 'none new'},"
        f" campaigns: {', '.join(done.campaigns) or 'none new'}."
    )


def register(app: typer.Typer, project_app: typer.Typer) -> None:
    project_app.command("reset")(project_reset)
    project_app.command("export")(project_export)
    project_app.command("import")(project_import)
    app.command("seed")(seed)
