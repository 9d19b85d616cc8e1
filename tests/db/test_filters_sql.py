"""The one filter compiler (db/filters_sql.py) and its one NULL rule, on both databases.

The redeemables lists' `filters` compile to the same Rule model as segment rules, so the SQL
they run and the segment rules' Python evaluator (segments.rules.matches) must select the same
rows — here on holder columns that really are NULL (`campaign_id` of a standalone voucher).
"""

from __future__ import annotations

from typing import Any

import pytest

from patrons.core.clock import now_ms
from patrons.db import filters_sql
from patrons.db.database import Conn, kind_of
from patrons.projects.service import Credentials
from patrons.redeemables.listing import HOLDER_FIELDS, compile_filters
from patrons.segments.rules import matches

COLUMNS = "id, customer_id, redeemable_id, holder_role, campaign_id, campaign_type, voucher_type"
HOLDERS = {  # label → campaign_id (None: a standalone voucher's holder)
    "none": None,
    "a": "camp_a1",
    "b": "camp_b1",
}

ALL = set(HOLDERS)
# The NULL rule: a positive test is false on NULL; `$has_value` means known and not empty;
# each negated operator is NOT its positive twin, so it holds on NULL.
CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"$is": "camp_a1"}, {"a"}),
    ({"$is_not": "camp_a1"}, {"none", "b"}),
    ({"$in": ["camp_a1", "camp_b1"]}, {"a", "b"}),
    ({"$not_in": ["camp_a1"]}, {"none", "b"}),
    ({"$in": ""}, set()),  # `$in=`: an empty list matches nothing
    ({"$not_in": ""}, ALL),
    ({"$has_value": ""}, {"a", "b"}),
    ({"$is_unknown": ""}, {"none"}),
    ({"$contains": "_a"}, {"a"}),
    ({"$not_contain": "_a"}, {"none", "b"}),
    ({"$starts_with": "camp_"}, {"a", "b"}),
    ({"$ends_with": "b1"}, {"b"}),
]


async def _holders(conn: Conn, tenant: Credentials) -> dict[str, str]:
    ids = {}
    for n, (label, campaign_id) in enumerate(HOLDERS.items()):
        holder_id = f"rh_{n:04d}"
        await conn.execute(
            "INSERT INTO redeemable_holder (project_id, id, customer_id, redeemable_id,"
            " holder_role, campaign_id, campaign_type, voucher_type, created_at)"
            " VALUES ($1, $2, 'cust_1', $3, 'OWNER', $4, NULL, 'DISCOUNT_VOUCHER', $5)",
            tenant.project_id,
            holder_id,
            f"v_{n}",
            campaign_id,
            1_000 + n,
        )
        ids[holder_id] = label
    return ids


async def _selected(conn: Conn, tenant: Credentials, filters: dict[str, Any]) -> tuple[set, set]:
    """(labels the SQL selects, labels the Python evaluator selects)."""
    labels = await _holders(conn, tenant)
    rule = compile_filters(filters, fields=HOLDER_FIELDS, now=now_ms())
    assert rule is not None
    sql, args = filters_sql.render(rule, kind=kind_of(conn), first_param=2)
    hits = await conn.fetch(
        f"SELECT id FROM redeemable_holder WHERE project_id = $1 AND {sql}",
        tenant.project_id,
        *args,
    )
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM redeemable_holder WHERE project_id = $1", tenant.project_id
    )
    by_python = {labels[row["id"]] for row in rows if matches(rule, row)}
    return {labels[row["id"]] for row in hits}, by_python


class TestOneNullRule:
    @pytest.mark.parametrize(("conditions", "expected"), CASES)
    async def test_sql_and_python_agree_on_null_columns(
        self, conn: Conn, tenant: Credentials, conditions: dict[str, Any], expected: set[str]
    ) -> None:
        filters = {"campaign_id": {"conditions": conditions}}
        by_sql, by_python = await _selected(conn, tenant, filters)
        assert by_sql == by_python == expected

    async def test_the_junction_joins_every_condition(
        self, conn: Conn, tenant: Credentials
    ) -> None:
        """Lists join all conditions by the junction, two of one field included."""
        conditions = {"$is": "camp_a1", "$is_unknown": ""}
        filters = {"junction": "or", "campaign_id": {"conditions": conditions}}
        by_sql, by_python = await _selected(conn, tenant, filters)
        assert by_sql == by_python == {"a", "none"}
