"""Input limits: one definition, the same on SQLite and PostgreSQL, enforced before any SQL.

PostgreSQL refuses a btree index entry over ~2,700 bytes (`index row size exceeds btree
maximum`), SQLite stores anything: without limits the two databases accept different data,
and a bulk job fails on PostgreSQL only. Every text field is therefore capped in *characters*
so that even four-byte UTF-8 characters stay under the btree limit for indexed columns
(`source_id`, `name`, `email`, `address.city`: 512 x 4 = 2,048 bytes, plus the 64-byte
`project_id` of the composite index). The single-customer API (400), bulk and metadata jobs
and CSV imports (per-row failures) all check these same numbers; README "Limits" lists them.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

# Characters per text field (wire name → limit).
SOURCE_ID_MAX = 512
TEXT_MAX = 512  # name, email, phone, address lines, city, state, country, postal code
DESCRIPTION_MAX = 4096
FIELD_MAX: dict[str, int] = {
    "source_id": SOURCE_ID_MAX,
    "name": TEXT_MAX,
    "email": TEXT_MAX,
    "phone": TEXT_MAX,
    "description": DESCRIPTION_MAX,
    "address.city": TEXT_MAX,
    "address.state": TEXT_MAX,
    "address.line_1": TEXT_MAX,
    "address.line_2": TEXT_MAX,
    "address.country": TEXT_MAX,
    "address.postal_code": TEXT_MAX,
}

# Other names clients give things, each indexed or unique on PostgreSQL: a campaign's and a
# segment's name, a voucher's code (and the prefix/postfix/pattern codes are generated from),
# a publication's source_id. A publication's channel is stored in a 32-character column.
NAME_MAX = 512
CODE_MAX = 512
CHANNEL_MAX = 32

# Custom events (POST /v1/events): the event name (the spec's maxLength); its `metadata` has
# the customer metadata limits below.
EVENT_NAME_MAX = 300
# Consents (PUT /v1/customers/{id}/consents): a consent id (part of a primary key, like a
# source_id) and how many one request may set.
CONSENT_ID_MAX = 512
CONSENTS_PER_REQUEST_MAX = 100

# A customer's `metadata` (and the object a metadata job merges): encoded JSON size, nesting.
METADATA_MAX_BYTES = 64 * 1024
METADATA_MAX_DEPTH = 8  # `{"a": {"b": 1}}` has depth 2
METADATA_KEY_MAX = 256

# Request bodies: the deepest JSON nesting accepted anywhere (decoders recurse).
JSON_MAX_DEPTH = 32
# Streamed bulk bodies: one element (a bulk item, a source_id) or the `metadata` member, as
# JSON text (escapes make a value within the field limits up to six times longer).
JSON_PIECE_MAX_BYTES = 1 << 20

# CSV imports: one cell (Python's csv module stops at 128 KiB by default; the reader's limit is
# raised above the body limit and cells are checked here, so a huge cell fails its row only).
CSV_CELL_MAX = 64 * 1024
CSV_HEADER_MAX_BYTES = 1 << 20  # the whole header row; it is checked completely at upload
CSV_COLUMNS_MAX = 1000


def too_long(field: str, value: str, limit: int) -> str:
    return f"{field}: must NOT have more than {limit} characters (actual length is {len(value)})"


def text_problem(field: str, value: Any) -> str | None:
    """Why a text field's value breaks its limit, or None (non-strings are not checked here)."""
    limit = FIELD_MAX.get(field)
    if limit is not None and isinstance(value, str) and len(value) > limit:
        return too_long(field, value, limit)
    return None


def _depth(value: Any, level: int) -> int:
    if isinstance(value, dict):
        if level > METADATA_MAX_DEPTH:
            return level
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        if level > METADATA_MAX_DEPTH:
            return level
        return max((_depth(v, level + 1) for v in value), default=level)
    return level - 1


def metadata_problem(metadata: Any, *, field: str = "metadata") -> str | None:
    """Why a metadata object breaks the limits (size, depth, key length), or None."""
    if not isinstance(metadata, Mapping):
        return None
    for key in metadata:
        if isinstance(key, str) and len(key) > METADATA_KEY_MAX:
            return (
                f"{field}: keys must NOT have more than {METADATA_KEY_MAX} characters"
                f" (actual length is {len(key)})"
            )
    too_deep = f"{field}: must NOT be nested more than {METADATA_MAX_DEPTH} levels deep"
    try:
        encoded = msgspec.json.encode(metadata)
    except RecursionError:
        return too_deep
    # Fewer brackets than levels (strings may hold some: an over-count) cannot nest too deep:
    # the walk is only for the rare deep-looking object (it was a tenth of an import's CPU).
    brackets = encoded.count(b"{") + encoded.count(b"[")
    if brackets > METADATA_MAX_DEPTH and _depth(metadata, 1) > METADATA_MAX_DEPTH:
        return too_deep
    size = len(encoded)
    if size > METADATA_MAX_BYTES:
        return (
            f"{field}: must NOT be larger than {METADATA_MAX_BYTES} bytes as JSON"
            f" (actual size is {size})"
        )
    return None


def cells_problem(cells: Sequence[str]) -> str | None:
    """Why a CSV row's cells break the cell limit, or None."""
    if not cells or max(map(len, cells)) <= CSV_CELL_MAX:  # the usual row, in one C loop
        return None
    for column, cell in enumerate(cells, start=1):
        if len(cell) > CSV_CELL_MAX:
            return (
                f"column {column}: a cell must NOT have more than {CSV_CELL_MAX} characters"
                f" (actual length is {len(cell)})"
            )
    return None


# Python's csv reader refuses a field over 128 KiB with an error that would end the whole read;
# readers raise that limit (the body limit bounds a cell anyway) and check cells themselves.
CSV_READER_FIELD_LIMIT = 2**31 - 1


def lift_csv_field_limit() -> None:
    csv.field_size_limit(CSV_READER_FIELD_LIMIT)
