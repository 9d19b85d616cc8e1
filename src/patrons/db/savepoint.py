"""A savepoint inside the caller's transaction: the same SQL on SQLite and PostgreSQL.

Used where part of a transaction may fail and the rest must still commit (a bulk chunk is
split until the one row the database refuses is isolated). On PostgreSQL a failed statement
aborts the whole transaction unless it ran under a savepoint that is rolled back.
`refuses_row` tells a refusal of the data (split further) from a transient failure (retry).
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import AsyncIterator

from patrons.db.database import Conn

_names = itertools.count()


@contextlib.asynccontextmanager
async def savepoint(conn: Conn) -> AsyncIterator[Conn]:
    """Release on success; on an exception, roll back to the savepoint and re-raise."""
    name = f"sp_{next(_names)}"
    await conn.execute(f"SAVEPOINT {name}")
    try:
        yield conn
    except BaseException:
        await conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
        await conn.execute(f"RELEASE SAVEPOINT {name}")
        raise
    await conn.execute(f"RELEASE SAVEPOINT {name}")


# PostgreSQL SQLSTATE classes that say "this data is refused", not "try again": data
# exceptions, integrity violations, program limits (an index row too large).
_ROW_CLASSES = ("22", "23", "54")


def refuses_row(exc: BaseException) -> bool:
    """Whether the database refused the data itself (the same rows fail again), as opposed to
    a transient failure — deadlock, serialization, lost connection — worth retrying whole."""
    sqlstate = getattr(exc, "sqlstate", None)  # asyncpg's server errors
    if isinstance(sqlstate, str):
        return sqlstate[:2] in _ROW_CLASSES
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return "too big" in str(exc)  # SQLITE_TOOBIG; "locked"/"busy" are transient
    # Client-side conversion errors (asyncpg's DataError is a ValueError): the row's values.
    return isinstance(exc, ValueError | TypeError) and not isinstance(exc, sqlite3.Error)
