"""patrons.testing: the pytest plugin other teams use, and its context manager."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import patrons.testing
from patrons.testing import server

SAMPLE = Path(__file__).parent / "sample_project"


def _clean_env(**extra: str) -> dict[str, str]:
    """No PATRONS_* settings and a PATH without the virtualenv's bin/, as on a team's CI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PATRONS_", "PYTEST_"))}
    env["PATH"] = "/usr/bin:/bin"
    env.update(extra)
    return env


def _run_sample(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    project = tmp_path / "their_project"
    shutil.copytree(SAMPLE, project)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=_clean_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


class TestSampleProject:
    def test_passes_with_the_plugin_loaded_from_its_entry_point(self, tmp_path: Path) -> None:
        done = _run_sample(tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "4 passed" in done.stdout

    def test_passes_with_autoload_off_and_the_plugin_named(self, tmp_path: Path) -> None:
        done = _run_sample(tmp_path, "-p", "patrons.testing", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "4 passed" in done.stdout

    def test_without_the_plugin_the_fixtures_are_unknown(self, tmp_path: Path) -> None:
        done = _run_sample(tmp_path, "-p", "no:patrons.testing")
        assert done.returncode != 0
        assert "fixture 'patrons_project' not found" in done.stdout


def test_loading_the_plugin_imports_no_server_code() -> None:
    code = (
        "import sys, patrons.testing.plugin\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('litestar', 'asyncpg', 'granian',"
        " 'sqlalchemy') or m.startswith(('patrons.db', 'patrons.api', 'patrons.projects'))]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=_clean_env(), timeout=60)


class TestContextManager:
    def test_serves_projects_apart_and_stops_on_exit(self) -> None:
        with server() as running:
            one, two = running.new_project(), running.new_project()
            assert one.project_id != two.project_id
            assert one.base_url == running.base_url
            created = httpx.post(
                running.base_url + "/v1/customers", headers=one.headers, json={"source_id": "x"}
            )
            assert created.status_code == 200, created.text
            assert httpx.get(running.base_url + "/v1/customers/x", headers=one.headers).is_success
            seen = httpx.get(running.base_url + "/v1/customers/x", headers=two.headers)
            assert seen.status_code == 404
            assert httpx.get(running.base_url + "/v1/customers", headers=running.headers).is_success
            database = Path(running.database_url.removeprefix("sqlite:///"))
            assert database.exists()
        assert running.process.poll() is not None
        assert not database.parent.exists()

    def test_a_given_directory_keeps_the_database_and_log(self, tmp_path: Path) -> None:
        with server(directory=tmp_path) as running:
            pass
        assert (tmp_path / "patrons.db").exists()
        assert running.log_path.parent == tmp_path

    def test_settings_come_from_its_arguments_not_the_callers_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("PATRONS_RATE_LIMIT_API_CALLS", "1")  # would refuse the 2nd call
        with server(PATRONS_MAX_BODY_BYTES="100") as running:
            project = running.new_project()
            url = running.base_url + "/v1/customers"
            for _ in range(3):
                assert httpx.get(url, headers=project.headers).status_code == 200
            big = httpx.post(url, headers=project.headers, json={"name": "x" * 200})
            assert big.status_code == 413

    def test_the_package_exports_what_the_readme_shows(self) -> None:
        assert set(patrons.testing.__all__) == {"PatronsProject", "PatronsServer", "server"}


class TestFixturesInThisSuite:
    """The plugin is loaded here too (entry point): its fixtures sit beside ours."""

    async def test_new_project_from_inside_a_running_event_loop(
        self, patrons_server: patrons.testing.PatronsServer
    ) -> None:
        made = patrons_server.new_project("async caller")
        async with httpx.AsyncClient(base_url=made.base_url, headers=made.headers) as client:
            assert (await client.get("/v1/customers")).json()["total"] == 0

    def test_patrons_project_is_a_fresh_project_of_the_session_server(
        self,
        patrons_server: patrons.testing.PatronsServer,
        patrons_project: patrons.testing.PatronsProject,
    ) -> None:
        assert patrons_project.base_url == patrons_server.base_url
        assert patrons_project.app_id != patrons_server.app_id
        assert patrons_project.headers == {
            "X-App-Id": patrons_project.app_id,
            "X-App-Token": patrons_project.app_token,
        }
