"""The official JavaScript SDK (`@voucherify/sdk`, pinned in tests/js/package.json) against a live
server, on each backend, with a fresh project.

tests/js/customers.test.mjs drives the unchanged SDK through create/upsert, get (by id and an
encoded source_id), update, delete, list filters, scroll() over 290 customers, the bulk, metadata
and CSV jobs, async actions, activity (current and deprecated), segments, and, where the server
has them, permanent deletion and redeemables (a 404 there is logged as SKIP). It prints one line
per step and, for a failing step, the HTTP exchanges that led to it; it exits non-zero on any
failure.

The SDK is installed into tests/js/node_modules with `npm ci` the first time (per session) it is
missing or is not the pinned version. Without Node.js the test is skipped; a failing `npm ci` is a
failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Project, Server

ROOT = Path(__file__).parents[1]
JS_DIR = Path(__file__).parent / "js"
SCRIPT = JS_DIR / "customers.test.mjs"
SDK = "@voucherify/sdk"
RUN_TIMEOUT_S = 90  # the script takes a few seconds; this only stops a hung run
INSTALL_TIMEOUT_S = 300


def _pinned_version() -> str:
    return json.loads((JS_DIR / "package.json").read_text())["dependencies"][SDK]


def _installed_version() -> str | None:
    manifest = JS_DIR / "node_modules" / SDK / "package.json"
    if not manifest.exists():
        return None
    return json.loads(manifest.read_text())["version"]


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` executable, with the pinned SDK installed in tests/js/node_modules."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (`node` is not on PATH); the JS SDK suite needs it")
    pinned = _pinned_version()
    if _installed_version() != pinned:
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("`node` is installed but `npm` is not: cannot install tests/js packages")
        try:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=JS_DIR,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"`npm ci` in {JS_DIR} took over {INSTALL_TIMEOUT_S}s:\n{exc.output}")
        if done.returncode != 0:
            pytest.fail(
                f"`npm ci` in {JS_DIR} failed (exit {done.returncode}):\n"
                f"{done.stdout}\n{done.stderr}"
            )
        installed = _installed_version()
        if installed != pinned:
            pytest.fail(f"`npm ci` installed {SDK} {installed}, package.json pins {pinned}")
    return node


def _no_proxy_for_loopback(env: dict[str, str]) -> None:
    """axios honours HTTP(S)_PROXY; the server under test is on 127.0.0.1 and must be direct."""
    for key in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in env.get(key, "").split(",") if h]
        env[key] = ",".join([*hosts, "127.0.0.1", "localhost"])


def run_sdk_script(node: str, server: Server, project: Project, script: Path) -> str:
    """Run one tests/js script against `server` as `project`; fail unless every step passed.
    Returns its output."""
    env = {
        **os.environ,
        "PATRONS_URL": server.base_url,
        "APP_ID": project.app_id,
        "APP_TOKEN": project.app_token,
    }
    _no_proxy_for_loopback(env)
    try:
        done = subprocess.run(
            [node, str(script)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{script.name} did not finish within {RUN_TIMEOUT_S}s on {server.backend.name}; "
            f"output so far:\n{exc.stdout or ''}\n{exc.stderr or ''}"
        )
    output = f"{done.stdout}\n{done.stderr}".strip()
    assert done.returncode == 0, (
        f"node {script.relative_to(ROOT)} exited {done.returncode} on {server.backend.name} "
        f"({server.base_url}):\n{output}"
    )
    last = done.stdout.strip().splitlines()[-1]
    assert " 0 failed" in last, f"the script did not reach its summary line:\n{output}"
    return output


@pytest.mark.slow
@pytest.mark.sdk
def test_official_js_sdk(node: str, server: Server, project: Project) -> None:
    output = run_sdk_script(node, server, project, SCRIPT)
    print(output)  # shown with -rP / -s: the SKIP lines say which endpoints were not exercised
