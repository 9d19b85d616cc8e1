"""Per-project rate limits: off by default; when on, headers, 429s and one budget per database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from patrons.db import database
from tests.conftest import Project, Server, new_project, start_server
from tests.factories import create_customer

LIMIT = 5
BULK_LIMIT = 2
WINDOW = 3600  # long, so a test never straddles two windows (see fresh_window)
LIMIT_ENV = {
    "PATRONS_RATE_LIMIT_API_CALLS": str(LIMIT),
    "PATRONS_RATE_LIMIT_BULK_API_CALLS": str(BULK_LIMIT),
    "PATRONS_RATE_LIMIT_WINDOW_SECONDS": str(WINDOW),
    "PATRONS_EMBEDDED_WORKER": "0",
}
HEADERS = (
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-retry",
    "x-rate-limit-type",
)


@pytest.fixture(scope="module")
def limited(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running, stop = start_server(server.backend, tmp_path_factory.mktemp("limited"), **LIMIT_ENV)
    try:
        yield running
    finally:
        stop()


@pytest.fixture(scope="module")
def limited_twin(limited: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second API process on the same database with the same limits."""
    running, stop = start_server(limited.backend, tmp_path_factory.mktemp("twin"), **LIMIT_ENV)
    try:
        yield running
    finally:
        stop()


@pytest.fixture
def fresh_window() -> None:
    """Waits out the last seconds of a window, so every request of the test counts in one."""
    left = WINDOW - time.time() % WINDOW
    if left < 20:
        time.sleep(left + 0.1)


@pytest.fixture
def limited_project(limited: Server) -> Project:
    return new_project(limited.backend)


@pytest.fixture
def limited_api(
    limited: Server, limited_project: Project, fresh_window: None
) -> Iterator[httpx.Client]:
    with client(limited, limited_project) as api:
        yield api


def client(server: Server, project: Project) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers=project.headers, timeout=30)


def customers_in(server: Server, project_id: str) -> int:
    async def run() -> int:
        db = await database.connect(server.backend.url, pg_pool_min=1, pg_pool_max=1)
        try:
            return await db.fetchval(
                "SELECT COUNT(*) FROM customer WHERE project_id = $1", project_id
            )
        finally:
            await db.close()

    return asyncio.run(run())


class TestOffByDefault:
    def test_no_headers_and_no_limit(self, api: httpx.Client) -> None:
        customer = create_customer(api)
        for _ in range(LIMIT + 3):
            listed = api.get("/v1/customers")
            assert listed.status_code == 200
            fast = api.get(f"/v1/customers/{customer['id']}")
            assert fast.status_code == 200
            for response in (listed, fast):
                assert not any(name in response.headers for name in HEADERS)
                assert "retry-after" not in response.headers


class TestHeaders:
    def test_every_response_counts_down(self, limited_api: httpx.Client) -> None:
        now = time.time()
        remaining = []
        for path in ("/v1/customers", "/v1/segments", "/v1/customers/unknown"):
            response = limited_api.get(path)
            assert response.status_code in (200, 404), response.text
            assert response.headers["x-rate-limit-limit"] == str(LIMIT)
            assert response.headers["x-rate-limit-type"] == "api_calls"
            assert now < int(response.headers["x-rate-limit-retry"]) <= now + WINDOW + 1
            assert "retry-after" not in response.headers
            remaining.append(int(response.headers["x-rate-limit-remaining"]))
        assert remaining == [LIMIT - 1, LIMIT - 2, LIMIT - 3]

    def test_fast_lane_is_counted(self, limited_api: httpx.Client) -> None:
        customer = create_customer(limited_api)
        response = limited_api.get(f"/v1/customers/{customer['id']}")
        assert response.status_code == 200
        assert response.headers["x-rate-limit-remaining"] == str(LIMIT - 2)

    def test_bulk_endpoints_spend_their_own_budget(self, limited_api: httpx.Client) -> None:
        response = limited_api.post(
            "/v1/customers/metadata/async", json={"source_ids": ["a"], "metadata": {"k": 1}}
        )
        assert response.status_code == 202, response.text
        assert response.headers["x-rate-limit-type"] == "bulk_api_calls"
        assert response.headers["x-rate-limit-limit"] == str(BULK_LIMIT)
        assert response.headers["x-rate-limit-remaining"] == str(BULK_LIMIT - 1)
        listed = limited_api.get("/v1/customers")
        assert listed.headers["x-rate-limit-type"] == "api_calls"
        assert listed.headers["x-rate-limit-remaining"] == str(LIMIT - 1)

    def test_unauthenticated_calls_spend_nothing(
        self, limited: Server, limited_api: httpx.Client
    ) -> None:
        denied = httpx.get(limited.base_url + "/v1/customers")
        assert denied.status_code == 401
        assert "x-rate-limit-limit" not in denied.headers
        assert limited_api.get("/v1/customers").headers["x-rate-limit-remaining"] == str(LIMIT - 1)


class TestLimited:
    def test_request_over_the_limit_is_429(self, limited_api: httpx.Client) -> None:
        for _ in range(LIMIT):
            assert limited_api.get("/v1/customers").status_code == 200
        response = limited_api.get("/v1/customers")
        assert response.status_code == 429
        body = response.json()
        assert body["code"] == 429
        assert body["message"] == "Too many requests hit the API too quickly."
        assert body["request_id"] == response.headers["x-request-id"]
        retry_after = int(response.headers["retry-after"])
        assert 1 <= retry_after <= WINDOW
        assert response.headers["x-rate-limit-remaining"] == "0"
        assert response.headers["x-rate-limit-type"] == "api_calls"
        reset = int(response.headers["x-rate-limit-retry"])
        assert abs(reset - (time.time() + retry_after)) <= 2

    def test_fast_lane_is_limited_too(self, limited_api: httpx.Client) -> None:
        for _ in range(LIMIT):
            limited_api.get("/v1/customers/x")
        assert limited_api.get("/v1/customers/x").status_code == 429

    def test_a_limited_write_changes_nothing(
        self, limited: Server, limited_project: Project, limited_api: httpx.Client
    ) -> None:
        create_customer(limited_api)
        for _ in range(LIMIT - 1):
            limited_api.get("/v1/customers")
        response = limited_api.post("/v1/customers", json={"source_id": "late"})
        assert response.status_code == 429
        assert customers_in(limited, limited_project.id) == 1

    def test_bulk_budget_runs_out_alone(self, limited_api: httpx.Client) -> None:
        body = {"source_ids": ["a"], "metadata": {"k": 1}}
        for _ in range(BULK_LIMIT):
            assert limited_api.post("/v1/customers/metadata/async", json=body).status_code == 202
        refused = limited_api.post("/v1/customers/bulk/async", json=[{"source_id": "b"}])
        assert refused.status_code == 429
        assert refused.headers["x-rate-limit-type"] == "bulk_api_calls"
        assert limited_api.get("/v1/customers").status_code == 200

    def test_budgets_are_per_project(self, limited: Server, limited_api: httpx.Client) -> None:
        for _ in range(LIMIT + 1):
            limited_api.get("/v1/customers")
        with client(limited, new_project(limited.backend)) as other:
            response = other.get("/v1/customers")
        assert response.status_code == 200
        assert response.headers["x-rate-limit-remaining"] == str(LIMIT - 1)


class TestSharedAcrossProcesses:
    @pytest.mark.parametrize("extra", [1, 7])
    def test_exactly_the_limit_passes_across_two_processes(
        self, limited: Server, limited_twin: Server, fresh_window: None, extra: int
    ) -> None:
        project = new_project(limited.backend)
        with client(limited, project) as one, client(limited_twin, project) as two:
            clients = [one, two] * (LIMIT + extra)
            with ThreadPoolExecutor(max_workers=8) as pool:
                responses = list(
                    pool.map(lambda c: c.get("/v1/customers"), clients[: LIMIT + extra])
                )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * LIMIT + [429] * extra
        assert len({r.headers["x-rate-limit-retry"] for r in responses}) == 1
        remaining = sorted(int(r.headers["x-rate-limit-remaining"]) for r in responses)
        assert remaining == [0] * (extra + 1) + list(range(1, LIMIT))

    def test_both_processes_answer_from_one_window(
        self, limited: Server, limited_twin: Server, fresh_window: None
    ) -> None:
        project = new_project(limited.backend)
        with client(limited, project) as one, client(limited_twin, project) as two:
            seen = [
                (c.get("/v1/customers").headers["x-rate-limit-remaining"])
                for c in (one, two, one, two)
            ]
        assert seen == [str(LIMIT - n) for n in range(1, 5)]
