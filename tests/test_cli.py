"""The command line: first start prints working keys; projects and keys are managed by CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx

from tests.conftest import _free_port, _wait_ready
from tests.factories import create_customer

KEYS = re.compile(r"App ID:\s+(\S+)\s+App Token:\s+(\S+)", re.S)


def patrons(url: str, *args: str) -> str:
    env = {**os.environ, "PATRONS_DATABASE_URL": url, "COLUMNS": "200"}
    env.pop("PATRONS_APP_ID", None)
    env.pop("PATRONS_APP_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "patrons", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def keys_in(output: str) -> dict[str, str]:
    match = KEYS.search(output)
    assert match, output
    return {"X-App-Id": match.group(1), "X-App-Token": match.group(2)}


def test_first_start_prints_default_keys_that_work(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "PATRONS_DATABASE_URL": url, "COLUMNS": "200"}
    env.pop("PATRONS_APP_ID", None)
    env.pop("PATRONS_APP_TOKEN", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "patrons", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, process, log)
        headers = keys_in(log.read_text())
        response = httpx.post(f"{base}/v1/customers", json={"source_id": "x"}, headers=headers)
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_project_create_and_key_rotation(server, anon) -> None:
    url = server.backend.url
    headers = keys_in(patrons(url, "project", "create", "Shop B"))
    assert anon.get("/v1/customers", headers=headers).status_code == 200
    listed = patrons(url, "keys", "list")
    assert headers["X-App-Id"] in listed
    assert headers["X-App-Token"] not in listed  # tokens are stored hashed, never shown again

    rotated = keys_in(patrons(url, "keys", "rotate", headers["X-App-Id"]))
    assert rotated["X-App-Id"] == headers["X-App-Id"]
    assert rotated["X-App-Token"] != headers["X-App-Token"]
    time.sleep(1.2)  # the server trusts a verified pair for PATRONS_AUTH_CACHE_SECONDS (1 s here)
    assert anon.get("/v1/customers", headers=headers).status_code == 401
    assert anon.get("/v1/customers", headers=rotated).status_code == 200


def test_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "patrons", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().startswith("patrons ")


def test_import_command_uploads_and_summarises(server, project, api, tmp_path) -> None:
    create_customer(api, source_id="existing", name="Old")
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text("Source_id,Name\nexisting,New\nfresh,Fresh\nbad,Bad,extra\n")
    env = {
        **os.environ,
        "PATRONS_APP_ID": project.app_id,
        "PATRONS_APP_TOKEN": project.app_token,
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-m", "patrons", "import", str(csv_file), "--url", server.base_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # 1: some rows failed (2 is usage)
    assert "1 created" in done.stdout
    assert "1 updated" in done.stdout
    assert "1 failed" in done.stdout
    assert "row 3 ('bad')" in done.stdout
    assert api.get("/v1/customers/existing").json()["name"] == "New"


def test_lists_print_whole_ids_at_any_width(server) -> None:
    url = server.backend.url
    created = keys_in(patrons(url, "project", "create", "A rather long project name for 40 cols"))
    env = {**os.environ, "PATRONS_DATABASE_URL": url, "COLUMNS": "40"}
    for args in (("keys", "list"), ("project", "list")):
        done = subprocess.run(
            [sys.executable, "-m", "patrons", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert "…" not in done.stdout
        if args[0] == "keys":
            rows = [line.split() for line in done.stdout.splitlines()]
            assert [created["X-App-Id"]] in [row[:1] for row in rows]
        else:
            assert "A rather long project name for 40 cols" in done.stdout
