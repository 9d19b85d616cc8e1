"""LICENSE, Dockerfile and compose.yaml, checked statically.

No container engine runs where the suite runs and CI must never pull an image, so the image
is not built here; these checks keep the files consistent with the CLI and pyproject.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_license_is_the_apache_2_text_pyproject_names() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert len(text.splitlines()) > 190  # the full text, not a notice


def test_dockerfile_runs_patrons_serve_as_a_non_root_user_on_a_sqlite_volume() -> None:
    steps = instructions((ROOT / "Dockerfile").read_text())
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the final stage sets USER"
    assert users[-1] not in ("root", "0", "0:0")
    env = " ".join(rest for word, rest in final if word == "ENV")
    assert "PATRONS_DATABASE_URL=sqlite:////data/" in env
    assert ("VOLUME", "/data") in final
    entry = [rest for word, rest in final if word == "ENTRYPOINT"]
    cmd = [rest for word, rest in final if word == "CMD"]
    assert entry == ['["patrons"]']
    assert cmd
    assert '"serve"' in cmd[-1]
    assert '"0.0.0.0"' in cmd[-1]
    assert any(word == "HEALTHCHECK" and "/health" in rest for word, rest in final)
    # What the build copies exists.
    for word, rest in steps:
        if word == "COPY" and not rest.startswith("--from"):
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), source


def test_compose_runs_postgresql_the_api_and_a_separate_worker() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "api", "worker"} <= set(services)
    api, worker = services["api"], services["worker"]
    assert api["build"] == "."
    assert worker["image"] == api["image"]
    assert api["command"][0] == "serve"
    assert worker["command"][0] == "worker"
    for service in (api, worker):
        assert "--wait-for-db" in service["command"]
        assert service["environment"]["PATRONS_DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in service["environment"]["PATRONS_DATABASE_URL"]
    assert api["environment"]["PATRONS_EMBEDDED_WORKER"] == "0"  # jobs run in the worker
    assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert worker["depends_on"]["api"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"]


def test_the_cli_options_the_files_use_exist() -> None:
    from typer.testing import CliRunner

    from patrons.cli.main import app

    runner = CliRunner()
    for command in (["serve", "--help"], ["worker", "--help"]):
        result = runner.invoke(app, command, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert "--wait-for-db" in result.output
