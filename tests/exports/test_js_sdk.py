"""distributions.exports through the official JS SDK (tests/js/exports.test.mjs) against a live
server on each backend (issue 18)."""

from __future__ import annotations

import pytest

from tests.conftest import Project, Server
from tests.test_js_sdk import JS_DIR, node, run_sdk_script  # noqa: F401 - node: the fixture


@pytest.mark.slow
@pytest.mark.sdk
def test_exports_through_the_js_sdk(
    node: str,  # noqa: F811 - the imported fixture
    server: Server,
    project: Project,
) -> None:
    run_sdk_script(node, server, project, JS_DIR / "exports.test.mjs")
