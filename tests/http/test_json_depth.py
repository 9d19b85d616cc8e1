"""The JSON depth limit, checked on the bytes before any decoder recurses (http/requests.py)."""

from __future__ import annotations

import json

import pytest

from patrons.core.limits import JSON_MAX_DEPTH
from patrons.core.querystring import parse_nested
from patrons.http.requests import json_too_deep


def nested(levels: int, opener: str = "{") -> bytes:
    if opener == "[":
        return ("[" * levels + "]" * levels).encode()
    return ('{"a":' * levels + "1" + "}" * levels).encode()


@pytest.mark.parametrize("opener", ["{", "["])
def test_the_limit_itself_passes_one_more_level_does_not(opener: str) -> None:
    assert not json_too_deep(nested(JSON_MAX_DEPTH, opener))
    assert json_too_deep(nested(JSON_MAX_DEPTH + 1, opener))
    assert json_too_deep(nested(5000, opener))


def test_brackets_inside_strings_do_not_count() -> None:
    body = json.dumps({"a": "[" * 100 + '\\"{' * 100, "b": ["}" * 50]}).encode()
    assert not json_too_deep(body)


def test_many_shallow_items_pass() -> None:
    body = json.dumps([{"source_id": str(i), "metadata": {"a": [1]}} for i in range(5000)])
    assert not json_too_deep(body.encode())


def test_malformed_brackets_are_left_to_the_decoder() -> None:
    # Unbalanced input is reported as too deep only when the decoder cannot say better;
    # read_json then answers the decoder's syntax error.
    assert json_too_deep(b"{" * 40 + b"]" * 40)


@pytest.mark.parametrize("query", ["=true", "0=x", "[]=x", "0[a]=1", "=&="])
def test_the_query_parser_always_returns_a_mapping(query: str) -> None:
    assert isinstance(parse_nested(query), dict)
