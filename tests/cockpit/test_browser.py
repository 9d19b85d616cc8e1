"""The cockpit in a real browser: Playwright driving Debian's chromium (never a downloaded
browser). Signs in, searches, opens a customer, edits it, uploads a CSV and watches its
progress; any console error or failed request fails the test.

PATRONS_SCREENSHOTS=1 also writes the README's screenshots to docs/ (SQLite run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Project, Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = pytest.mark.slow

try:
    from playwright.async_api import Page, async_playwright
except ImportError:  # pragma: no cover - the dev lock installs it
    async_playwright = None  # type: ignore[assignment]


# The async API: the sync one keeps an event loop running in the test's thread, which the
# suite's own fixtures (asyncio.run for a new project) cannot share.
@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Any]:
    if async_playwright is None:
        pytest.skip("the playwright package is not installed (requirements-dev.lock has it)")
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed: apt-get install -y chromium (.ci/run does)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def page(chromium: Any, server: Server) -> AsyncIterator[Page]:
    context = await chromium.new_context(
        base_url=server.base_url, viewport={"width": 1200, "height": 800}
    )
    tab = await context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on("requestfailed", lambda r: problems.append(f"{r.url} {r.failure}"))
    tab.on(
        "request",
        lambda r: (
            problems.append(f"another host: {r.url}")
            if not r.url.startswith((server.base_url, "data:"))
            else None
        ),
    )
    tab.problems = problems  # type: ignore[attr-defined]  # a test may take out an expected one
    try:
        yield tab
        assert problems == []
    finally:
        await context.close()


async def shoot(page: Page, server: Server, name: str) -> None:
    if os.environ.get("PATRONS_SCREENSHOTS") == "1" and server.backend.name == "sqlite":
        await page.screenshot(path=str(DOCS / f"cockpit-{name}.png"), full_page=True)


async def sign_in(page: Page, project: Project) -> None:
    await page.goto("/cockpit")
    await page.fill("input[name=app_id]", project.app_id)
    await page.fill("input[name=app_token]", project.app_token)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/cockpit/customers")


async def test_wrong_keys_stay_on_the_form(page: Page, project: Project) -> None:
    await page.goto("/cockpit")
    await page.fill("input[name=app_id]", project.app_id)
    await page.fill("input[name=app_token]", "wrong")
    async with page.expect_response("**/cockpit/login"):
        await page.click("button[type=submit]")
    assert await page.locator(".error").inner_text() == "Unknown App ID or wrong App Token."
    assert await page.context.cookies() == []
    # Chromium reports the refused sign-in (401) on the console: that one is expected.
    page.problems.remove(  # type: ignore[attr-defined]
        "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
    )


async def test_sign_in_search_open_edit(
    page: Page, server: Server, project: Project, api: httpx.Client
) -> None:
    for n, name in enumerate(["Ada Lovelace", "Grace Hopper", "Alan Turing"]):
        api.post(
            "/v1/customers",
            json={
                "source_id": f"person-{n}",
                "name": name,
                "email": f"{name.split()[0].lower()}@example.com",
                "metadata": {"plan": "pro" if n else "free"},
            },
        )
    await sign_in(page, project)
    assert await page.locator("#total").inner_text() == "3"
    await shoot(page, server, "customers")
    await page.fill("input[name=q]", "grace@example.com")
    await page.click("form.search button")
    rows = page.locator("#customers tbody tr")
    assert await rows.count() == 1
    await rows.first.locator("a").click()
    await page.wait_for_selector("#profile")
    assert "person-1" in await page.locator("#profile").inner_text()
    assert "customer.created" in await page.locator("#activity").inner_text()
    await shoot(page, server, "customer")
    await page.click("text=Edit")
    await page.fill("input[name=name]", "Grace B. Hopper")
    await page.click("button:has-text('Save')")
    await page.wait_for_selector(".notice")
    assert "Grace B. Hopper" in await page.locator("#profile").inner_text()
    assert "customer.updated" in await page.locator("#activity").inner_text()
    assert api.get("/v1/customers/person-1").json()["name"] == "Grace B. Hopper"


async def test_upload_a_csv_and_watch_it_finish(
    page: Page, server: Server, project: Project, api: httpx.Client, tmp_path: Path
) -> None:
    rows = "".join(f"row-{n},Person {n},{'1990-01-02' if n % 50 else 'bad'}\n" for n in range(400))
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("source_id,name,birthdate\n" + rows)
    await sign_in(page, project)
    await page.click("nav >> text=Jobs")
    await page.set_input_files("input[name=file]", str(csv_file))
    await page.click("button:has-text('Upload and import')")
    await page.wait_for_url("**/cockpit/async-actions/aa_*")
    # The status block is refreshed by the page itself (static/cockpit.js) until it ends.
    await page.wait_for_selector("#job-status.status-done", timeout=60_000)
    assert await page.locator("#job-progress").inner_text() == "100%"
    assert await page.locator("#failed tbody tr").count() == 8
    await shoot(page, server, "job")
    assert api.get("/v1/customers/row-1").json()["name"] == "Person 1"
    await page.click("nav >> text=Jobs")
    assert "CUSTOMERS.IMPORT_CSV" in await page.locator("#jobs").inner_text()


@pytest.fixture
def workerless(server: Server, request: pytest.FixtureRequest) -> Server:
    """A server without the embedded worker, on its own database: its jobs wait until a
    `patrons worker` is started, so the page is seen waiting and then updating itself."""
    if server.backend.name != "sqlite":
        pytest.skip("one database shows it; the page is the same on both")
    running: Server = request.getfixturevalue("workerless_server")
    return running


async def test_the_job_page_updates_itself(
    chromium: Any, workerless: Server, tmp_path: Path
) -> None:
    context = await chromium.new_context(base_url=workerless.base_url)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    csv_file = tmp_path / "few.csv"
    csv_file.write_text("source_id,name\nw-1,Wu\nw-2,Wei\n")
    worker = None
    try:
        await sign_in(page, Project("", workerless.app_id, workerless.app_token))
        await page.goto("/cockpit/async-actions")
        await page.set_input_files("input[name=file]", str(csv_file))
        await page.click("button:has-text('Upload and import')")
        await page.wait_for_url("**/cockpit/async-actions/aa_*")
        assert await page.locator("#job-status").inner_text() == "ENQUEUED"
        assert await page.locator("#job[data-poll]").count() == 1
        worker = subprocess.Popen(
            [sys.executable, "-m", "patrons", "worker"],
            env={**os.environ, "PATRONS_DATABASE_URL": workerless.backend.url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # No reload: static/cockpit.js polls the status block until the job ends.
        await page.wait_for_selector("#job-status.status-done", timeout=60_000)
        assert await page.locator("#job[data-poll]").count() == 0
        assert "2 customer(s) imported" in await page.locator("#job-message").inner_text()
        assert errors == []
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=15)
        await context.close()
