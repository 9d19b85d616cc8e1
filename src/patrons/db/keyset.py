"""Keyset pages over one sort column plus `id`: the ORDER BY and the "after this row" condition.

Used by jobs that walk a whole table in chunks (exports): each chunk starts after the last row
of the previous one, so chunk N costs what chunk 1 costs, and rows written meanwhile are
neither skipped nor repeated by position. NULLs (a nullable sort column) sort first ascending
and last descending on both databases, so the two directions mirror each other; the condition
spells the NULL cases out, because a comparison with NULL is never true.
"""

from __future__ import annotations

from typing import Any


def order_by(column: str, *, descending: bool, nullable: bool, id_column: str = "id") -> str:
    direction = "DESC" if descending else "ASC"
    if column == id_column:
        return f"{id_column} {direction}"
    nulls = (" NULLS LAST" if descending else " NULLS FIRST") if nullable else ""
    return f"{column} {direction}{nulls}, {id_column} {direction}"


def after(
    column: str,
    *,
    descending: bool,
    nullable: bool,
    key: tuple[Any, str],
    first_param: int,
    id_column: str = "id",
) -> tuple[str, list[Any]]:
    """SQL true for the rows after `key` = (sort value, id) in `order_by`'s order, and its
    parameters numbered from $first_param."""
    value, last_id = key
    p, q = f"${first_param}", f"${first_param + 1}"
    cmp = "<" if descending else ">"
    if column == id_column:
        return f"{id_column} {cmp} {p}", [last_id]
    if value is None:
        # Ascending: the rest of the NULL group, then every known value. Descending: NULLs
        # come last, so only the rest of their group remains.
        rest = f"({column} IS NULL AND {id_column} {cmp} {p})"
        sql = rest if descending else f"({rest} OR {column} IS NOT NULL)"
        return sql, [last_id]
    # The redundant `column >= value` (`<=`) bound lets an index on the column start there.
    bound = "<=" if descending else ">="
    sql = (
        f"({column} {bound} {p} AND ({column} {cmp} {p} OR {id_column} {cmp} {q}))"
        if not nullable
        else f"(({column} {bound} {p} AND ({column} {cmp} {p} OR {id_column} {cmp} {q}))"
        + (f" OR {column} IS NULL)" if descending else ")")
    )
    return sql, [value, last_id]


def chunk_where(
    project_id: str,
    *,
    where: str | None,
    where_args: list[Any],
    sort: str,
    descending: bool,
    nullable: bool,
    last: tuple[Any, str] | None,
) -> tuple[str, list[Any]]:
    """The WHERE of one chunk of a project's rows: the project ($1), the caller's filter
    (parameters from $2) and the rows after `last` = (sort value, id) in `order_by`'s order
    (all rows when None); with its args."""
    conditions = ["project_id = $1"]
    args: list[Any] = [project_id]
    if where:
        conditions.append(where)
        args.extend(where_args)
    if last is not None:
        sql, values = after(
            sort, descending=descending, nullable=nullable, key=last, first_param=len(args) + 1
        )
        conditions.append(sql)
        args.extend(values)
    return " AND ".join(conditions), args
