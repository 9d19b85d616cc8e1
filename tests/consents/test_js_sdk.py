"""events.create, customers.updateConsents and consents.list through the official JS SDK
(tests/js/events_consents.test.mjs) against a live server on each backend (issue 18)."""

from __future__ import annotations

import pytest

from tests.conftest import Project, Server
from tests.test_js_sdk import JS_DIR, node, run_sdk_script  # noqa: F401 - node: the fixture


@pytest.mark.slow
@pytest.mark.sdk
def test_events_and_consents_through_the_js_sdk(
    node: str,  # noqa: F811 - the imported fixture
    server: Server,
    project: Project,
) -> None:
    run_sdk_script(node, server, project, JS_DIR / "events_consents.test.mjs")
