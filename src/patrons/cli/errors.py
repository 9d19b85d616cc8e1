"""User mistakes end a command with one line on stderr and a non-zero exit, never a traceback.

`PatronsTyper` is the Typer app class of the CLI: an exception that escapes a command is
turned into `patrons: <what is wrong>` (exit 1, or 2 for usage mistakes). The traceback is
shown only with `patrons --debug …` or `PATRONS_LOG_LEVEL=DEBUG`.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import typer

from patrons.db.preflight import DatabaseProblem
from patrons.settings import SettingsError

USAGE = 2  # click's own exit code for usage errors


class Problem(Exception):
    """A mistake the person can fix; `code` is the exit code (1 failure, 2 usage)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


_debug = False


def set_debug(value: bool) -> None:
    global _debug
    _debug = value


def debugging() -> bool:
    level = os.environ.get("PATRONS_LOG_LEVEL", "").strip().upper()
    return _debug or level == "DEBUG"


def explain(exc: BaseException) -> tuple[str, int]:
    """(one line, exit code) for an exception that ended a command."""
    if isinstance(exc, Problem):
        return str(exc), exc.code
    if isinstance(exc, SettingsError):
        return str(exc), USAGE
    if isinstance(exc, DatabaseProblem):
        return str(exc), 1
    first = (str(exc).strip().splitlines() or [""])[0]
    return (
        f"unexpected error: {type(exc).__name__}: {first} (run `patrons --debug …` for details)",
        1,
    )


# user:password@ in any URL inside a message (a driver's text may quote one).
_CREDENTIALS = re.compile(r"([a-z][a-z0-9+.-]*://[^/@:\s]*):[^/@\s]*@", re.I)


def fail(exc: BaseException) -> None:
    message, code = explain(exc)
    message = _CREDENTIALS.sub(r"\1:***@", message)
    print(f"patrons: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


class PatronsTyper(typer.Typer):
    """A Typer app whose commands end in one line instead of a traceback (see the module)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            if debugging():
                raise
            fail(exc)
