"""Voucherify-shaped identifiers (see WIRE-FORMAT §2.1)."""

from __future__ import annotations

import itertools
import os
import secrets
import string
import threading
from functools import lru_cache

_ALNUM = string.ascii_letters + string.digits


def _alnum(n: int) -> str:
    # One urandom read per id (n bytes carry more than the ~5.95 bits each character needs);
    # secrets.choice per character cost one syscall each and dominated bulk imports.
    value = int.from_bytes(os.urandom(n), "big")
    chars = []
    for _ in range(n):
        value, index = divmod(value, 62)
        chars.append(_ALNUM[index])
    return "".join(chars)


def customer_id() -> str:
    return "cust_" + _alnum(24)


# Base 62 in byte order (digits < upper < lower), so ids compare as their numbers do.
_SORTABLE = string.digits + string.ascii_uppercase + string.ascii_lowercase


def ordered_customer_id(created_at: int, tail: str | None = None) -> str:
    """A customer id of the usual shape (`cust_` + 24 letters and digits) that starts with its
    `created_at` millisecond (7 base-62 characters, until the year 2081), then 17 hex
    characters: `tail` when the caller drew them in a batch (bulk rows: 68 random bits), else
    a per-process counter and 40 random bits (ids need only be unique within a project, where
    the millisecond prefix already separates most of them).

    New keys then land at the right edge of the indexes keyed by customer id (the customer's
    primary key, the event log's by-customer index) instead of on a random page each: bulk
    rows get consecutive milliseconds, so a chunk's ids are in insert order — on SQLite that
    was most of a chunk's WAL and write time on a big table — and a single create's commit
    touches cached pages.
    """
    if tail is None:  # a single create: this process's creates of one millisecond ascend
        tail = f"{next(_create_counter) & 0xFFFFFFF:07x}" + os.urandom(5).hex()
    return _id_head(created_at // 3844) + _TWO_DIGITS[created_at % 3844] + tail


# Single creates' tails start with a per-process counter (from a random start, 7 hex), then 10
# random hex: customers created one after another in the same millisecond list in creation
# order (lists sort by created_at, then id), and processes still draw apart (40 random bits).
def _new_create_counter() -> itertools.count[int]:
    return itertools.count(int.from_bytes(os.urandom(4), "big") & 0x7FFFFFF)


_create_counter = _new_create_counter()


# The last two base-62 digits by value, and `cust_` + the first five (the same for 3.8 s of
# milliseconds, so a bulk chunk's rows share a few): an id costs a lookup or two.
_TWO_DIGITS = [high + low for high in _SORTABLE for low in _SORTABLE]


@lru_cache(maxsize=16)
def _id_head(value: int) -> str:
    chars = []
    for _ in range(5):
        value, index = divmod(value, 62)
        chars.append(_SORTABLE[index])
    return "cust_" + "".join(reversed(chars))


def project_id() -> str:
    return "proj_" + _alnum(24)


# Request ids: a random per-process prefix and a counter (Voucherify's shape: `v-` + 18 hex).
# Unique within a process by the counter and across processes by the prefix; a syscall for
# fresh randomness per request showed up in the GET-by-id profile. Ids are not secrets.
_REQUEST_PREFIX = secrets.token_hex(4)
_request_counter = itertools.count(int.from_bytes(os.urandom(4), "big"))


def _reseed_request_ids() -> None:
    global _REQUEST_PREFIX, _request_counter
    _REQUEST_PREFIX = secrets.token_hex(4)
    _request_counter = itertools.count(int.from_bytes(os.urandom(4), "big"))


os.register_at_fork(after_in_child=_reseed_request_ids)  # forked workers get their own prefix


def request_id() -> str:
    return f"v-{_REQUEST_PREFIX}{next(_request_counter) & 0xFFFFFFFFFF:010x}"


def app_id() -> str:
    # Voucherify application ids are UUID-like; any opaque string works for the SDKs.
    return (
        secrets.token_hex(4)
        + "-"
        + secrets.token_hex(2)
        + "-"
        + secrets.token_hex(2)
        + "-"
        + (secrets.token_hex(2) + "-" + secrets.token_hex(6))
    )


def app_token() -> str:
    return secrets.token_hex(4) + "-" + secrets.token_hex(16)


def async_action_id() -> str:
    return "aa_" + secrets.token_hex(9)


def worker_id() -> str:
    return "w-" + secrets.token_hex(6)


def segment_id() -> str:
    return "seg_" + _alnum(24)


def campaign_id() -> str:
    return "camp_" + _alnum(24)


def voucher_id() -> str:
    return "v_" + _alnum(32)


def publication_id() -> str:
    return "pub_" + _alnum(24)


def holder_id(now_ms: int) -> str:
    """`rh_` + 18 hex: the millisecond clock first, so id order is creation order (the
    redeemables list pages and sorts by id), then randomness."""
    return f"rh_{now_ms:011x}{secrets.token_hex(4)[:7]}"


def permanent_deletion_id() -> str:
    return "del_" + _alnum(24)


def custom_event_id() -> str:
    return "event_" + _alnum(24)


def order_id() -> str:
    return "ord_" + _alnum(24)


def redemption_id() -> str:
    return "r_" + _alnum(24)


def rollback_id() -> str:
    return "rr_" + _alnum(24)


_transaction_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))


def transaction_id(now_ms: int) -> str:
    """`vtx_` + 18 hex: the millisecond clock, then a per-process counter, so id order is
    creation order (a voucher's transactions list sorts and pages by id)."""
    return f"vtx_{now_ms:011x}{next(_transaction_counter) % 0x10000000:07x}"


def validation_id() -> str:
    return "valid_" + _alnum(24)


# Event ids of the multi-customer event writes (activities.record, bulk chunks): `evcus_` + 18
# hex as always, but in creation order — a 16-second clock bucket (7 hex), a per-process salt
# (5 hex), then a per-process counter (6 hex) — so a chunk's thousands of events append at the
# right edge of the event log's primary key instead of landing on as many random pages (on
# SQLite each such page is rewritten into the WAL and checkpointed). Unique within a process by
# the counter (16.7M ids per bucket before it could wrap onto itself), across processes by the
# salt and the counter's random start.
EVENT_COUNTER_SPAN = 1 << 24
_event_salt = secrets.token_hex(3)[:5]
_event_next = [int.from_bytes(os.urandom(3), "big")]
_event_lock = threading.Lock()


def _reseed_after_fork() -> None:
    """A forked process draws its own ordered ids (event ids, single creates' counters)."""
    global _event_salt, _event_lock, _create_counter
    _event_lock = threading.Lock()
    _event_salt = secrets.token_hex(3)[:5]
    _event_next[0] = int.from_bytes(os.urandom(3), "big")
    _create_counter = _new_create_counter()


os.register_at_fork(after_in_child=_reseed_after_fork)


def event_id_block(now_ms: int, n: int) -> tuple[str, int]:
    """`n` consecutive event ids reserved: their common prefix (`evcus_` + 12 hex) and the
    counter of the first; id i is `prefix + f"{(first + i) % EVENT_COUNTER_SPAN:06x}"`."""
    with _event_lock:  # the embedded worker's thread and the API's loop both record
        first = _event_next[0]
        _event_next[0] = (first + n) % EVENT_COUNTER_SPAN
    return f"evcus_{(now_ms >> 14) & 0xFFFFFFF:07x}{_event_salt}", first


def event_ids(now_ms: int, n: int) -> list[str]:
    """`n` consecutive event ids (see `event_id_block`)."""
    prefix, first = event_id_block(now_ms, n)
    return [f"{prefix}{(first + i) % EVENT_COUNTER_SPAN:06x}" for i in range(n)]
