"""Exports run against their own server whose worker reads 7 rows per chunk, so every export
of more than a handful of rows crosses chunk boundaries (keyset continuation, pieces)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Backend, Server, start_server

CHUNK_ROWS = 7


@pytest.fixture(scope="session")
def server(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running, stop = start_server(
        backend, tmp_path_factory.mktemp("exports"), PATRONS_WORKER_CHUNK_ROWS=str(CHUNK_ROWS)
    )
    try:
        yield running
    finally:
        stop()
