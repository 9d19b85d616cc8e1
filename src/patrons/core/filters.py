"""Voucherify's filter operators as one model, shared by segment rules and list filters.

A filter is parsed (segments/rules.py for segment rules, redeemables/listing.py for the
redeemables lists' `filters` query) into a `Rule`: groups of `Condition`s joined by a
junction. One compiler (db/filters_sql.py) renders every Rule as SQL; segments/rules.py also
evaluates it in Python, with the same meaning.

The one NULL rule. A value is *unknown* when the column is NULL, or the metadata key is absent
or JSON null. Every positive test (`$is`, `$in`, `$contains`, `$more_than`, …) is false on an
unknown value, `$has_value` is "known and not empty" (`''` counts as no value), and every
negated operator (`$is_not`, `$not_in`, `$not_contain`, `$is_unknown`) is exactly NOT of its
positive twin — so it is true on an unknown value. SQL never sees three-valued logic: each
positive predicate is written to be TRUE or FALSE, never NULL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Field kinds (db/filters_sql.py renders by these same strings: db may not import core).
TEXT, DATE, TIMESTAMP, METADATA = "text", "date", "timestamp", "metadata"
# Tests (the positive form of each operator).
EQ, HAS_VALUE, CONTAINS, STARTS_WITH, ENDS_WITH = "eq", "has_value", "contains", "starts", "ends"
GT, LT, GE, LE, AFTER, BEFORE = "gt", "lt", "ge", "le", "after", "before"

# operator → (test, negated)
OPERATORS = {
    "$is": (EQ, False),
    "$in": (EQ, False),
    "$is_not": (EQ, True),
    "$not_in": (EQ, True),
    "$has_value": (HAS_VALUE, False),
    "$is_unknown": (HAS_VALUE, True),
    "$contains": (CONTAINS, False),
    "$not_contain": (CONTAINS, True),
    "$starts_with": (STARTS_WITH, False),
    "$ends_with": (ENDS_WITH, False),
    "$more_than": (GT, False),
    "$less_than": (LT, False),
    "$more_than_equal": (GE, False),
    "$less_than_equal": (LE, False),
    "$after": (AFTER, False),
    "$before": (BEFORE, False),
}


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # as written in the filter: "address.city", "metadata.tier"
    kind: str  # TEXT | DATE | TIMESTAMP | METADATA
    column: str  # the table column ("metadata" for metadata fields)
    key: str | None = None  # the metadata key


@dataclass(frozen=True, slots=True)
class MetaValue:
    """A metadata `$is`/`$in` operand: its text, and its double value if it is a JSON number."""

    text: str
    number: float | None


@dataclass(frozen=True, slots=True)
class Condition:
    field: Field
    test: str  # EQ | HAS_VALUE | CONTAINS | STARTS_WITH | ENDS_WITH | GT | LT | GE | LE | AFTER | …
    negated: bool
    # str (text, date, metadata text tests), int (timestamps), float (metadata GT…), MetaValue.
    # EQ matches ANY value (none: nothing); text tests match ANY needle; comparisons take one.
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    junction: str  # "and" | "or"
    groups: tuple[tuple[Condition, ...], ...]  # joined by the junction; a group's are ANDed
