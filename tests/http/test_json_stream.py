"""http.json_stream: a body split into elements piece by piece gives exactly what decoding the
whole body gives, whatever the piece boundaries; malformed bodies are 400s."""

from __future__ import annotations

import itertools
import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrons.core import limits
from patrons.core.errors import InvalidPayload
from patrons.http.json_stream import Splitter

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(alphabet=st.sampled_from('ab"\\,[]{}:\u00e9\n '), max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(alphabet=st.sampled_from('k"\\,]}:'), max_size=3), inner, max_size=3
        )
    ),
    max_leaves=12,
)


def _split(body: bytes, cuts: list[int], **kwargs: Any) -> list[tuple[str | None, Any]]:
    splitter = Splitter(max_piece=1 << 20, **kwargs)
    out = []
    edges = sorted({0, len(body), *(c % (len(body) + 1) for c in cuts)})
    for a, b in itertools.pairwise(edges):
        out += splitter.feed(body[a:b])
    splitter.close()
    got: list[tuple[str | None, Any]] = []
    for key, raw, elements in out:
        if elements:
            got += [(key, value) for value in msgspec.json.decode(b"[" + raw + b"]")]
        else:
            got.append((key, msgspec.json.decode(raw)))
    return got


@settings(max_examples=300, deadline=None)
@given(items=st.lists(json_values, max_size=6), cuts=st.lists(st.integers(0, 10_000)))
def test_a_top_level_array_is_split_into_its_elements(items: list[Any], cuts: list[int]) -> None:
    body = json.dumps(items, indent=1, separators=(" , ", " : "), ensure_ascii=False).encode()
    assert _split(body, cuts) == [(None, item) for item in items]


@settings(max_examples=300, deadline=None)
@given(
    ids=st.lists(st.text(alphabet=st.sampled_from('x"\\,]'), max_size=5), max_size=5),
    metadata=st.dictionaries(st.text(max_size=3), json_values, max_size=3),
    cuts=st.lists(st.integers(0, 10_000)),
)
def test_an_object_streams_one_member_and_returns_the_others_whole(
    ids: list[str], metadata: dict[str, Any], cuts: list[int]
) -> None:
    body = msgspec.json.encode({"metadata": metadata, "source_ids": ids, "z": [1, {"a": 2}]})
    got = _split(body, cuts, stream_key="source_ids")
    assert got == [
        ("metadata", metadata),
        *(("source_ids", i) for i in ids),
        ("z", [1, {"a": 2}]),
    ]


@pytest.mark.parametrize(
    "body",
    [b"[1,]", b"[,1]", b"[1 2", b"[1]]", b"[1] x", b"x [1]", b"[{]}", b"", b"[1", b'["a]'],
)
def test_malformed_bodies_are_400(body: bytes) -> None:
    splitter = Splitter(max_piece=1 << 20)

    def split() -> None:
        splitter.feed(body)
        splitter.close()

    with pytest.raises(InvalidPayload):
        split()


def test_too_deep_is_refused_as_it_is_met() -> None:
    splitter = Splitter(max_piece=1 << 20)
    with pytest.raises(InvalidPayload, match="nested"):
        splitter.feed(b"[" * (limits.JSON_MAX_DEPTH + 1))


def test_an_element_over_the_piece_limit_is_refused_without_waiting_for_its_end() -> None:
    splitter = Splitter(max_piece=1000)
    with pytest.raises(InvalidPayload, match="larger than 1000"):
        splitter.feed(b'[{"a": "' + b"x" * 2000)


def test_memory_holds_one_element_not_the_body() -> None:
    splitter = Splitter(max_piece=1 << 20)
    splitter.feed(b"[")
    item = b'{"source_id": "' + b"s" * 100 + b'"},'
    for _ in range(10_000):
        assert len(splitter.feed(item * 3)) in (0, 1)
        assert len(splitter.buf) < 4 * len(item)


def test_elements_deeper_than_the_fast_path_still_split() -> None:
    deep = [{"a": {"b": {"c": {"d": [1, {"e": "}]"}]}}}}, "x,", 3, [[[[[]]]]]]
    body = msgspec.json.encode(deep * 3)
    for size in (1, 7, 64, len(body)):
        assert _split(body, list(range(0, len(body), size))) == [(None, v) for v in deep * 3]
