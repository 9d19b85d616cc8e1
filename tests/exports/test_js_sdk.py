"""distributions.exports through the official JS SDK (tests/js/exports.test.mjs, the SDK pinned
and installed as for tests/test_js_sdk.py) against a live server on each backend (issue 18)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Project, Server
from tests.test_js_sdk import _no_proxy_for_loopback, node  # noqa: F401 - the fixture

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "tests" / "js" / "exports.test.mjs"


@pytest.mark.slow
@pytest.mark.sdk
def test_exports_through_the_js_sdk(
    node: str,  # noqa: F811 - the imported fixture
    server: Server,
    project: Project,
) -> None:
    env = {
        **os.environ,
        "PATRONS_URL": server.base_url,
        "APP_ID": project.app_id,
        "APP_TOKEN": project.app_token,
    }
    _no_proxy_for_loopback(env)
    done = subprocess.run(
        [node, str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    output = f"{done.stdout}\n{done.stderr}".strip()
    assert done.returncode == 0, f"{SCRIPT.name} on {server.backend.name}:\n{output}"
    assert done.stdout.strip().splitlines()[-1].endswith(" 0 failed"), output
