"""Webhooks end to end, on both databases: the management API (App keys, tenant walls, bad
input), the CLI (secret, list, create, delete, log), and deliveries to a real receiver on
127.0.0.1 that fails, times out and recovers — with a server started with a 1-second retry
base and a 1-second attempt timeout, so retries happen within the test."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Backend, Project, Server, make_backend, new_project, start_server
from tests.helpers import assert_error
from tests.webhooks.receiver import Receiver

WEBHOOK_ENV = {
    "PATRONS_WEBHOOK_RETRY_BASE_SECONDS": "1",
    "PATRONS_WEBHOOK_TIMEOUT_SECONDS": "1",
    "PATRONS_WEBHOOK_MAX_ATTEMPTS": "4",
}
# Where a restart falls between attempts, enough of them that the webhook is not disabled
# before the restarted server's turn, however slow the box.
RETRYING_ENV = {**WEBHOOK_ENV, "PATRONS_WEBHOOK_MAX_ATTEMPTS": "12"}


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATRONS_DATABASE_URL": url, "COLUMNS": "250"}
    return subprocess.run(
        [sys.executable, "-m", "patrons", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(url: str, *args: str) -> str:
    done = cli(url, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """Databases of this module's own: a dispatcher serves every project of its database, so
    the session's servers (60 s retry base) would otherwise claim these tests' deliveries."""
    made, drop = make_backend(request.param, tmp_path_factory.mktemp(request.param))
    try:
        yield made
    finally:
        drop()


@pytest.fixture(scope="module")
def hooks_server(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running, stop = start_server(backend, tmp_path_factory.mktemp("webhooks"), **WEBHOOK_ENV)
    try:
        yield running
    finally:
        stop()


@pytest.fixture
def tenant(hooks_server: Server) -> Project:
    return new_project(hooks_server.backend)


@pytest.fixture
def client(hooks_server: Server, tenant: Project) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hooks_server.base_url, headers=tenant.headers, timeout=30) as c:
        yield c


def hooks_path(project: Project) -> str:
    return f"/management/v1/projects/{project.id}/webhooks"


def add_webhook(client: httpx.Client, project: Project, url: str, *events: str) -> dict:
    response = client.post(
        hooks_path(project),
        json={"target_url": url, "events": list(events or ["customer.created"])},
    )
    assert response.status_code == 200, response.text
    return response.json()


def log_rows(url: str, project: Project, *hook_id: str) -> list[dict[str, str]]:
    """`patrons webhooks log` as dicts, cut at the header's column starts."""
    lines = ok(url, "webhooks", "log", project.id, *hook_id).splitlines()
    header = lines[0]
    names = header.split("  ")
    names = [n.strip() for n in names if n.strip()]
    starts = [header.index(n) for n in names]
    rows = []
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows.append(dict(zip(names, cells, strict=True)))
    return rows


def secret_of(url: str, project: Project) -> str:
    return ok(url, "webhooks", "secret", project.id).split()[-1]


def verify(secret: str, request_body: bytes, signature: str) -> bool:
    expected = hmac.new(secret.encode(), request_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class TestConfiguration:
    def test_create_get_list_update_delete(self, client: httpx.Client, tenant: Project) -> None:
        made = add_webhook(client, tenant, "https://example.com/hooks", "customer.created")
        assert made["object"] == "webhook"
        assert made["id"].startswith("wh_")
        assert made["events"] == ["customer.created"]
        assert made["target_url"] == "https://example.com/hooks"
        assert made["active"] is True
        assert made["created_at"].endswith("Z")
        path = f"{hooks_path(tenant)}/{made['id']}"
        assert client.get(path).json() == made
        listed = client.get(hooks_path(tenant)).json()
        assert listed == {"object": "list", "data_ref": "data", "data": [made], "total": 1}
        changed = client.put(
            path,
            json={
                "target_url": "http://example.org/h",
                "events": ["customer.updated", "customer.deleted"],
                "active": False,
            },
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["events"] == ["customer.updated", "customer.deleted"]
        assert changed.json()["active"] is False
        assert client.get(path).json() == changed.json()
        assert client.delete(path).status_code == 204
        assert_error(client.get(path), 404, "not_found")
        assert_error(client.delete(path), 404, "not_found")
        assert client.get(hooks_path(tenant)).json()["total"] == 0

    def test_served_in_openapi_json(self, client: httpx.Client) -> None:
        paths = client.get("/openapi.json").json()["paths"]
        assert set(paths["/management/v1/projects/{projectId}/webhooks"]) >= {"get", "post"}
        item = paths["/management/v1/projects/{projectId}/webhooks/{webhookId}"]
        assert set(item) >= {"get", "put", "delete"}

    @pytest.mark.parametrize(
        ("body", "needle"),
        [
            ({"events": ["customer.created"]}, "target_url"),
            ({"target_url": "https://example.com"}, "events"),
            ({"target_url": "ftp://example.com/x", "events": ["customer.created"]}, "http"),
            ({"target_url": "https:///nohost", "events": ["customer.created"]}, "host"),
            ({"target_url": "not a url", "events": ["customer.created"]}, "target_url"),
            ({"target_url": "https://example.com", "events": []}, "events"),
            ({"target_url": "https://example.com", "events": ["customer.exploded"]}, "events"),
            ({"target_url": "https://example.com", "events": "customer.created"}, "events"),
            ({"target_url": "https://example.com", "events": [1]}, "events"),
            ({"target_url": 5, "events": ["customer.created"]}, "target_url"),
            ({"target_url": "http://10.0.0.7/h", "events": ["customer.created"]}, "address"),
            ({"target_url": "http://169.254.169.254/", "events": ["customer.created"]}, "address"),
            ({"target_url": "https://example.com", "events": ["x"], "active": "yes"}, "active"),
        ],
    )
    def test_bad_input_is_400_and_writes_nothing(
        self, client: httpx.Client, tenant: Project, body: dict, needle: str
    ) -> None:
        made = add_webhook(client, tenant, "https://example.com/keep")
        error = assert_error(client.post(hooks_path(tenant), json=body), 400, "invalid_payload")
        assert needle in error["details"]
        update = client.put(f"{hooks_path(tenant)}/{made['id']}", json=body)
        assert_error(update, 400, "invalid_payload")
        assert client.get(hooks_path(tenant)).json()["data"] == [made]

    def test_not_json_is_400(self, client: httpx.Client, tenant: Project) -> None:
        response = client.post(
            hooks_path(tenant), content=b"{", headers={"content-type": "application/json"}
        )
        assert_error(response, 400, "invalid_payload")
        assert client.get(hooks_path(tenant)).json()["total"] == 0

    def test_loopback_is_allowed_by_default(self, client: httpx.Client, tenant: Project) -> None:
        add_webhook(client, tenant, "http://127.0.0.1:9/h")
        add_webhook(client, tenant, "http://[::1]:9/h")


class TestTenantWalls:
    def test_other_keys_get_404_and_see_nothing(
        self, hooks_server: Server, client: httpx.Client, tenant: Project
    ) -> None:
        mine = add_webhook(client, tenant, "https://example.com/mine")
        other = new_project(hooks_server.backend)
        with httpx.Client(base_url=hooks_server.base_url, headers=other.headers) as theirs:
            path = f"{hooks_path(tenant)}/{mine['id']}"
            assert_error(theirs.get(hooks_path(tenant)), 404, "not_found")
            assert_error(theirs.get(path), 404, "not_found")
            assert_error(
                theirs.put(
                    path, json={"target_url": "https://x.io", "events": ["customer.created"]}
                ),
                404,
                "not_found",
            )
            assert_error(theirs.delete(path), 404, "not_found")
            assert_error(
                theirs.post(
                    hooks_path(tenant),
                    json={"target_url": "https://x.io", "events": ["customer.created"]},
                ),
                404,
                "not_found",
            )
            # Through their own project's path, my webhook's id names nothing.
            assert_error(theirs.get(f"{hooks_path(other)}/{mine['id']}"), 404, "not_found")
            assert theirs.get(hooks_path(other)).json()["total"] == 0
        assert client.get(hooks_path(tenant)).json()["data"] == [mine]

    def test_without_keys_401(self, hooks_server: Server, tenant: Project) -> None:
        with httpx.Client(base_url=hooks_server.base_url) as anon:
            assert_error(anon.get(hooks_path(tenant)), 401, "unauthorized")
            wrong = {"X-App-Id": tenant.app_id, "X-App-Token": "nope"}
            assert_error(anon.get(hooks_path(tenant), headers=wrong), 401, "unauthorized")

    def test_deliveries_stay_in_their_project(
        self, hooks_server: Server, client: httpx.Client, tenant: Project
    ) -> None:
        other = new_project(hooks_server.backend)
        with Receiver() as mine, Receiver() as theirs:
            add_webhook(client, tenant, mine.url)
            with httpx.Client(base_url=hooks_server.base_url, headers=other.headers) as them:
                add_webhook(them, other, theirs.url)
                them.post("/v1/customers", json={"source_id": "theirs"}).raise_for_status()
            client.post("/v1/customers", json={"source_id": "mine"}).raise_for_status()
            got = mine.wait_for(lambda r: len(r) >= 1)
            theirs.wait_for(lambda r: len(r) >= 1)
            time.sleep(0.5)  # anything misrouted would have arrived by now
            assert [r.event["data"]["customer"]["source_id"] for r in mine.requests()] == ["mine"]
            assert got[0].event["project_id"] == tenant.id
            assert [r.event["data"]["customer"]["source_id"] for r in theirs.requests()] == [
                "theirs"
            ]


class TestDelivery:
    def test_created_arrives_signed_within_seconds(
        self, hooks_server: Server, client: httpx.Client, tenant: Project
    ) -> None:
        with Receiver() as receiver:
            hook = add_webhook(client, tenant, receiver.url, "customer.created")
            started = time.monotonic()
            created = client.post(
                "/v1/customers", json={"source_id": "ada", "email": "ada@example.com"}
            ).json()
            got = receiver.wait_for(lambda r: len(r) >= 1, timeout=5)
            latency = got[0].at - started
            print(f"\ndelivery latency ({hooks_server.backend.name}): {latency * 1000:.0f} ms")
            assert latency < 3
            event = got[0].event
            assert event["type"] == "customer.created"
            assert event["object"] == "event"
            assert event["id"].startswith("evcus_")
            assert event["webhook_id"] == hook["id"]
            assert event["project_id"] == tenant.id
            assert event["data"]["customer"]["id"] == created["id"]
            assert event["data"]["customer"]["email"] == "ada@example.com"
            assert event["event_source"]["channel"] == "API"
            secret = secret_of(hooks_server.backend.url, tenant)
            assert verify(secret, got[0].body, got[0].headers["X-Voucherify-Signature"])
            assert not verify(secret + "x", got[0].body, got[0].headers["X-Voucherify-Signature"])
            # The event id is the activity's: receivers can match and drop duplicates.
            activity = client.get(f"/v1/customers/{created['id']}/activity").json()["data"]
            assert event["id"] in [a["id"] for a in activity]

    def test_two_failures_then_exactly_one_acknowledged_delivery(
        self, hooks_server: Server, client: httpx.Client, tenant: Project
    ) -> None:
        with Receiver([500, "timeout"]) as receiver:
            add_webhook(client, tenant, receiver.url, "customer.created")
            client.post("/v1/customers", json={"source_id": "bob"}).raise_for_status()
            got = receiver.wait_for(lambda r: any(x.answered == 200 for x in r), timeout=20)
            time.sleep(1.5)  # a further (duplicate) attempt would come within the backoff
            got = receiver.requests()
            assert [r.answered for r in got] == [500, "timeout", 200]
            assert len({r.event["id"] for r in got}) == 1  # the same event each time
            assert len({r.body for r in got}) == 1  # the same bytes each time
            assert got[1].at - got[0].at >= 0.9  # retry base 1 s
            assert got[2].at - got[1].at >= 1.9  # then 2 s (after the 1 s timeout)
            [row] = log_rows(hooks_server.backend.url, tenant)
            assert row["Status"] == "DELIVERED"
            assert row["Attempts"] == "3"
            assert row["HTTP"] == "200"
            assert row["Last error"] == ""

    def test_in_order_per_customer(
        self, hooks_server: Server, client: httpx.Client, tenant: Project
    ) -> None:
        with Receiver([500]) as receiver:
            add_webhook(client, tenant, receiver.url, "customer.created", "customer.updated")
            made = client.post("/v1/customers", json={"source_id": "ord", "name": "one"}).json()
            client.put(f"/v1/customers/{made['id']}", json={"name": "two"}).raise_for_status()
            client.put(f"/v1/customers/{made['id']}", json={"name": "three"}).raise_for_status()
            got = receiver.wait_for(lambda r: sum(x.answered == 200 for x in r) >= 3, timeout=20)
            acked = [r.event for r in got if r.answered == 200]
            assert [e["type"] for e in acked] == [
                "customer.created",
                "customer.updated",
                "customer.updated",
            ]
            assert [e["data"]["customer"]["name"] for e in acked] == ["one", "two", "three"]
            # The update waited for the failed create: nothing arrived before its retry.
            assert [r.event["type"] for r in got[:2]] == ["customer.created", "customer.created"]

    def test_only_subscribed_events_and_active_webhooks(
        self, client: httpx.Client, tenant: Project
    ) -> None:
        with Receiver() as deleted_only, Receiver() as off:
            add_webhook(client, tenant, deleted_only.url, "customer.deleted")
            hook = add_webhook(client, tenant, off.url, "customer.created", "customer.deleted")
            client.put(
                f"{hooks_path(tenant)}/{hook['id']}",
                json={"target_url": off.url, "events": hook["events"], "active": False},
            ).raise_for_status()
            made = client.post("/v1/customers", json={"source_id": "gone"}).json()
            client.delete(f"/v1/customers/{made['id']}").raise_for_status()
            got = deleted_only.wait_for(lambda r: len(r) >= 1)
            time.sleep(1.0)
            assert [r.event["type"] for r in deleted_only.requests()] == ["customer.deleted"]
            assert got[0].event["data"]["customer"]["id"] == made["id"]
            assert off.requests() == []

    def test_disabled_after_max_attempts(
        self, hooks_server: Server, client: httpx.Client, tenant: Project
    ) -> None:
        with Receiver(then=503) as receiver:
            hook = add_webhook(client, tenant, receiver.url, "customer.created")
            client.post("/v1/customers", json={"source_id": "nope"}).raise_for_status()
            receiver.wait_for(lambda r: len(r) >= 4, timeout=30)
            deadline = time.monotonic() + 10
            while client.get(f"{hooks_path(tenant)}/{hook['id']}").json()["active"]:
                assert time.monotonic() < deadline, "webhook still active"
                time.sleep(0.1)
            client.post("/v1/customers", json={"source_id": "after"}).raise_for_status()
            time.sleep(1.5)
            assert len(receiver.requests()) == 4  # max attempts 4; then nothing more
            rows = log_rows(hooks_server.backend.url, tenant, hook["id"])
            assert [r["Status"] for r in rows] == ["FAILED"]  # none for the later event
            assert rows[0]["Attempts"] == "4"
            assert rows[0]["Last error"] == "HTTP 503"


class TestCli:
    def test_secret_create_list_delete_and_mistakes(
        self, hooks_server: Server, tenant: Project
    ) -> None:
        url = hooks_server.backend.url
        first = secret_of(url, tenant)
        assert len(first) == 64
        assert secret_of(url, tenant) == first
        rotated = ok(url, "webhooks", "secret", tenant.id, "--rotate").split()[-1]
        assert rotated != first
        assert secret_of(url, tenant) == rotated
        made = ok(
            url, "webhooks", "create", tenant.id, "https://example.com/c", "-e", "customer.created"
        )
        hook_id = made.split()[-1]
        assert hook_id.startswith("wh_")
        assert hook_id in ok(url, "webhooks", "list", tenant.id)
        assert ok(url, "webhooks", "log", tenant.id, hook_id).splitlines()[1:] == []
        ok(url, "webhooks", "delete", tenant.id, hook_id)
        assert hook_id not in ok(url, "webhooks", "list", tenant.id)
        for args, needle in [
            (("webhooks", "delete", tenant.id, hook_id), "webhook"),
            (("webhooks", "list", "proj_nope"), "no project"),
            (("webhooks", "secret", "proj_nope"), "no project"),
            (("webhooks", "create", tenant.id, "ftp://x", "-e", "customer.created"), "http"),
            (("webhooks", "create", tenant.id, "https://x.io", "-e", "nope"), "events"),
        ]:
            done = cli(url, *args)
            assert done.returncode != 0
            assert needle in done.stderr
            assert "Traceback" not in done.stderr
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_restart_and_kill_in_the_middle_of_retries(backend: Backend, tmp_path: Path) -> None:
    """A delivery pending a retry survives its server: stopped, and killed with SIGKILL."""
    with Receiver(then=500) as receiver:
        for how in ("terminate", "kill"):
            receiver.set_script([], then=500)
            running, stop = start_server(backend, tmp_path, **RETRYING_ENV)
            project = new_project(backend)
            try:
                with httpx.Client(base_url=running.base_url, headers=project.headers) as c:
                    add_webhook(c, project, receiver.url, "customer.created")
                    c.post("/v1/customers", json={"source_id": how}).raise_for_status()
                before = len(receiver.requests())
                receiver.wait_for(lambda r, n=before: len(r) >= n + 1)
                # At least the first failed attempt is on record (with a 1 s base the next
                # ones may follow while the CLI starts: "exactly 1" would race the clock).
                deadline = time.monotonic() + 30
                while not any(int(r["Attempts"] or 0) >= 1 for r in log_rows(backend.url, project)):
                    assert time.monotonic() < deadline, "first attempt not recorded"
                    time.sleep(0.1)
            finally:
                if how == "kill":
                    running.process.kill()
                    running.process.wait()
                else:
                    stop()
            receiver.set_script([], then=200)
            _again, stop_again = start_server(backend, tmp_path, **RETRYING_ENV)
            try:
                got = receiver.wait_for(
                    lambda r, p=project.id: any(
                        x.answered == 200 and x.event["project_id"] == p for x in r
                    ),
                    timeout=90,  # a kill mid-attempt leaves a lease of timeout + 20 s
                )
                mine = [x for x in got if x.event["project_id"] == project.id]
                answers = [x.answered for x in mine]
                assert answers[-1] == 200
                assert answers[:-1]
                assert set(answers[:-1]) == {500}
                assert len({x.event["id"] for x in mine}) == 1
            finally:
                stop_again()


def test_a_separate_worker_delivers(backend: Backend, tmp_path: Path) -> None:
    """`patrons worker` runs the dispatcher too (the API's embedded worker switched off)."""
    running, stop = start_server(backend, tmp_path, PATRONS_EMBEDDED_WORKER="0", **WEBHOOK_ENV)
    env = {**os.environ, **WEBHOOK_ENV, "PATRONS_DATABASE_URL": backend.url}
    worker = subprocess.Popen(
        [sys.executable, "-m", "patrons", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    project = new_project(backend)
    try:
        with (
            Receiver() as receiver,
            httpx.Client(base_url=running.base_url, headers=project.headers) as c,
        ):
            add_webhook(c, project, receiver.url, "customer.created")
            c.post("/v1/customers", json={"source_id": "by-worker"}).raise_for_status()
            got = receiver.wait_for(lambda r: len(r) >= 1, timeout=20)
            assert got[0].event["data"]["customer"]["source_id"] == "by-worker"
    finally:
        worker.terminate()
        worker.wait(timeout=10)
        stop()
