"""The pytest plugin (entry point `pytest11`: `patrons = "patrons.testing.plugin"`).

Fixtures only, all lazy: loading the plugin starts nothing and imports no server code; the
server starts when a test first asks for `patrons_server` or `patrons_project`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from patrons.testing import PatronsProject, PatronsServer, server


@pytest.fixture(scope="session")
def patrons_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PatronsServer]:
    """A real Patrons server (temporary SQLite file, free port) for the whole session.

    Its `app_id` / `app_token` / `headers` are the default project's keys, shared by every
    test that uses them; ask for `patrons_project` for a project of the test's own.
    """
    with server(directory=tmp_path_factory.mktemp("patrons")) as running:
        yield running


@pytest.fixture
def patrons_project(patrons_server: PatronsServer) -> PatronsProject:
    """A fresh project with its own key pair, for this test only (isolation without a reset)."""
    return patrons_server.new_project()
