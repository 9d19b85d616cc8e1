"""`patrons project reset | export | import` and `patrons seed`, on both databases.

Black-box: the data is made through the API of the session's server (SQLite and PostgreSQL),
the tools run as CLI processes on its database, and the answers are read through the API.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Backend, Project, Server, make_backend, start_server
from tests.factories import create_campaign, create_customer, publish, wait_done


def patrons(url: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATRONS_DATABASE_URL": url, "COLUMNS": "200"}
    env.pop("PATRONS_APP_ID", None)
    env.pop("PATRONS_APP_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "patrons", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def make_data(api: httpx.Client) -> list[str]:
    """Customers with every kind of field, events, segments, holdings, a finished bulk job
    (with its stored payload) and a soft-deleted customer; the live customers' ids."""
    segment = api.post(
        "/v1/segments",
        json={
            "name": "gold",
            "type": "auto-update",
            "filter": {"junction": "and", "metadata.tier": {"conditions": {"$is": "gold"}}},
        },
    )
    assert segment.status_code == 200, segment.text
    people = [
        create_customer(
            api,
            source_id=f"p{i}",
            name=f"Person {i}",
            email=f"p{i}@example.com",
            birthdate="1990-01-0" + str(i + 1),
            address={"city": "Warsaw", "country": "PL", "postal_code": None},
            metadata={"tier": "gold" if i % 2 else "silver", "n": i, "tags": ["a", "ü"]},
        )
        for i in range(5)
    ]
    create_campaign(api, name="Welcome", type="AUTO_UPDATE")
    publish(api, people[1]["id"], campaign="Welcome")
    publish(api, people[2]["id"], campaign="Welcome")
    bulk = api.post(
        "/v1/customers/bulk/async",
        json=[{"source_id": "p3", "metadata": {"tier": "gold"}}, {"source_id": "p9"}],
    )
    assert bulk.status_code == 202, bulk.text
    assert wait_done(api, bulk.json()["async_action_id"])["status"] == "DONE"
    gone = create_customer(api, source_id="gone")
    assert api.delete(f"/v1/customers/{gone['id']}").status_code == 204
    listed = api.get("/v1/customers", params={"limit": 100}).json()
    return [c["id"] for c in listed["customers"]]


def answers(api: httpx.Client, customer_ids: list[str]) -> dict[str, Any]:
    """What the API says about the project: every list and every customer's views."""

    def get(path: str, **params: Any) -> Any:
        response = api.get(path, params=params)
        assert response.status_code == 200, f"{path}: {response.text}"
        return response.json()

    seen: dict[str, Any] = {
        "customers": get("/v1/customers", limit=100, order="created_at"),
        "segments": get("/v1/segments", limit=100),
        "campaigns": get("/v1/campaigns", limit=100),
        "async_actions": get("/v1/async-actions", limit=100),
    }
    for cid in customer_ids:
        seen[cid] = {
            "customer": get(f"/v1/customers/{cid}"),
            "activity": get(f"/v1/customers/{cid}/activity", limit=100),
            "activities": get(f"/v1/customers/{cid}/activities", limit=100),
            "segments": get(f"/v1/customers/{cid}/segments"),
            "redeemables": get(f"/v1/customers/{cid}/redeemables", limit=100),
        }
    return seen


@pytest.fixture
def other_kind(server: Server, tmp_path: Path) -> Iterator[Backend]:
    """A fresh, migrated database of the other kind than the session server's."""
    kind = "postgresql" if server.backend.name == "sqlite" else "sqlite"
    where = tmp_path / "target"
    where.mkdir()
    made, drop = make_backend(kind, where)
    try:
        yield made
    finally:
        drop()


class TestExportImport:
    def test_into_the_other_database_reads_the_same_through_the_api(
        self,
        server: Server,
        project: Project,
        api: httpx.Client,
        other_kind: Backend,
        tmp_path: Path,
    ) -> None:
        ids = make_data(api)
        patrons(server.backend.url, "seed", "-n", "12", "--project", project.id)
        ids = [c["id"] for c in api.get("/v1/customers", params={"limit": 100}).json()["customers"]]
        before = answers(api, ids)
        file = tmp_path / "project.jsonl"
        patrons(server.backend.url, "project", "export", project.id, str(file))

        out = patrons(other_kind.url, "project", "import", str(file))
        assert f"Imported {project.id}" in out.stdout
        target, stop = start_server(other_kind, tmp_path)
        try:
            # The same App keys work there: only their hashes travel, as in the database.
            with httpx.Client(base_url=target.base_url, headers=project.headers) as moved:
                assert answers(moved, ids) == before
        finally:
            stop()

    def test_the_file_is_json_lines_with_a_header_and_an_end(
        self, server: Server, project: Project, api: httpx.Client, tmp_path: Path
    ) -> None:
        create_customer(api, source_id="one")
        file = tmp_path / "p.jsonl"
        patrons(server.backend.url, "project", "export", project.id, str(file))
        lines = [json.loads(line) for line in file.read_text().splitlines()]
        assert lines[0]["format"] == "patrons-project"
        assert lines[0]["project_id"] == project.id
        assert lines[1]["table"] == "project"
        assert lines[-1]["end"] is True
        assert lines[-1]["rows"]["customer"] == 1
        rows = [line for line in lines[1:-1] if line["table"] == "customer"]
        assert rows[0]["row"]["source_id"] == "one"
        assert {line["row"]["project_id"] for line in lines[2:-1]} == {project.id}

    def test_an_existing_project_is_refused_unless_replaced(
        self, server: Server, project: Project, api: httpx.Client, tmp_path: Path
    ) -> None:
        create_customer(api, source_id="kept")
        file = tmp_path / "p.jsonl"
        patrons(server.backend.url, "project", "export", project.id, str(file))
        create_customer(api, source_id="after-export")

        refused = patrons(server.backend.url, "project", "import", str(file), ok=False)
        assert refused.returncode == 1
        assert "already exists" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert api.get("/v1/customers/after-export").status_code == 200

        patrons(server.backend.url, "project", "import", str(file), "--replace")
        assert api.get("/v1/customers/kept").status_code == 200
        assert api.get("/v1/customers/after-export").status_code == 404
        assert api.get("/v1/customers").json()["total"] == 1

    def test_a_truncated_file_imports_nothing(
        self, server: Server, project: Project, api: httpx.Client, tmp_path: Path
    ) -> None:
        create_customer(api, source_id="x")
        file = tmp_path / "p.jsonl"
        patrons(server.backend.url, "project", "export", project.id, str(file))
        cut = tmp_path / "cut.jsonl"
        cut.write_text("".join(file.read_text().splitlines(keepends=True)[:-1]))

        refused = patrons(server.backend.url, "project", "import", str(cut), "--replace", ok=False)
        assert refused.returncode == 1
        assert "ends early" in refused.stderr
        assert api.get("/v1/customers/x").status_code == 200  # rolled back: still there

    def test_an_app_id_of_another_project_is_refused(
        self, server: Server, project: Project, api: httpx.Client, tmp_path: Path
    ) -> None:
        create_customer(api, source_id="mine")
        file = tmp_path / "p.jsonl"
        patrons(server.backend.url, "project", "export", project.id, str(file))
        # The same project under another id: its App ID is taken here (by the original).
        renamed = tmp_path / "renamed.jsonl"
        renamed.write_text(file.read_text().replace(project.id, "proj_copy"))

        refused = patrons(server.backend.url, "project", "import", str(renamed), ok=False)
        assert refused.returncode == 1
        assert f"App ID {project.app_id} belongs to project {project.id}" in refused.stderr
        listed = patrons(server.backend.url, "project", "list").stdout
        assert "proj_copy" not in listed  # nothing of it was written

    def test_the_default_project_stays_default_only_where_there_is_none(
        self, server: Server, other_kind: Backend, tmp_path: Path
    ) -> None:
        listed = patrons(server.backend.url, "project", "list").stdout
        default = next(line.split()[0] for line in listed.splitlines() if line.endswith("yes"))
        file = tmp_path / "default.jsonl"
        patrons(server.backend.url, "project", "export", default, str(file))

        patrons(other_kind.url, "project", "import", str(file))
        there = patrons(other_kind.url, "project", "list").stdout
        assert any(line.startswith(default) and line.endswith("yes") for line in there.splitlines())

        renamed = tmp_path / "renamed.jsonl"
        text = file.read_text().replace(default, "proj_second")
        # Every App key of the project moves too (other tests may have added keys to it).
        keys = [
            json.loads(line)["row"]["app_id"]
            for line in file.read_text().splitlines()
            if '"table":"api_key"' in line
        ]
        assert keys
        for n, key in enumerate(keys):
            text = text.replace(key, f"second-app-id-{n}")
        # So do its OAuth tokens' hashes, the other key unique across projects.
        for line in file.read_text().splitlines():
            if '"table":"oauth_token"' in line:
                token_hash = json.loads(line)["row"]["token_hash"]
                text = text.replace(token_hash, secrets.token_hex(32))
        renamed.write_text(text)
        patrons(other_kind.url, "project", "import", str(renamed))
        there = patrons(other_kind.url, "project", "list").stdout
        second = next(line for line in there.splitlines() if line.startswith("proj_second"))
        assert not second.endswith("yes")

    def test_not_an_export_and_unknown_project_get_one_line(
        self, server: Server, tmp_path: Path
    ) -> None:
        junk = tmp_path / "junk.jsonl"
        junk.write_text("hello\n")
        done = patrons(server.backend.url, "project", "import", str(junk), ok=False)
        assert done.returncode == 1
        assert "not a Patrons project export" in done.stderr
        missing = patrons(server.backend.url, "project", "import", str(tmp_path / "no"), ok=False)
        assert "no such file" in missing.stderr
        unknown = patrons(server.backend.url, "project", "export", "proj_nope", "-", ok=False)
        assert unknown.returncode == 1
        assert "no project proj_nope" in unknown.stderr


class TestReset:
    def test_erases_the_data_and_keeps_the_keys(
        self, server: Server, project: Project, api: httpx.Client, other_api: httpx.Client
    ) -> None:
        make_data(api)
        create_customer(other_api, source_id="neighbour")

        out = patrons(server.backend.url, "project", "reset", project.id, "--yes")
        assert f"Reset {project.id}" in out.stdout
        assert "keys kept" in out.stdout

        customers = api.get("/v1/customers").json()  # the same keys still work
        assert customers["total"] == 0
        assert customers["customers"] == []
        assert api.get("/v1/segments").json()["total"] == 0
        assert api.get("/v1/campaigns").json()["total"] == 0
        assert api.get("/v1/async-actions").json()["async_actions"] == []
        assert api.get("/v1/customers/p1").status_code == 404
        assert other_api.get("/v1/customers/neighbour").status_code == 200
        # The emptied project takes new data as a fresh one would.
        create_customer(api, source_id="p1")
        assert api.get("/v1/customers").json()["total"] == 1

    def test_asks_first_and_stops_on_no(self, server: Server, project: Project, api) -> None:
        create_customer(api, source_id="stay")
        env = {**os.environ, "PATRONS_DATABASE_URL": server.backend.url}
        done = subprocess.run(
            [sys.executable, "-m", "patrons", "project", "reset", project.id],
            env=env,
            input="n\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        assert api.get("/v1/customers/stay").status_code == 200

    def test_an_unknown_project_is_one_line(self, server: Server) -> None:
        done = patrons(server.backend.url, "project", "reset", "proj_nope", "-y", ok=False)
        assert done.returncode == 1
        assert done.stderr.strip() == "patrons: no project proj_nope"


class TestSeed:
    def test_makes_customers_segments_campaigns_and_activity(
        self, server: Server, project: Project, api: httpx.Client
    ) -> None:
        out = patrons(
            server.backend.url, "seed", "-n", "40", "--project", project.id, "--random-seed", "3"
        )
        assert "40 customers created" in out.stdout
        customers = api.get("/v1/customers", params={"limit": 100}).json()
        assert customers["total"] == 40
        assert all(c["email"] and c["address"]["city"] for c in customers["customers"])
        segments = {s["name"] for s in api.get("/v1/segments").json()["data"]}
        assert {"VIP (gold and platinum)", "Newsletter subscribers"} <= segments
        assert any(name.startswith("Beta testers") for name in segments)
        campaigns = {c["name"] for c in api.get("/v1/campaigns").json()["campaigns"]}
        assert campaigns == {"Welcome 10% off", "Gift card 50", "Loyalty club"}
        # Publications went through the services: holders, summaries and events are real.
        holding = [c for c in customers["customers"] if c.get("loyalty_card") or c["summary"]]
        assert holding
        types = {
            a["type"]
            for c in customers["customers"][:20]
            for a in api.get(f"/v1/customers/{c['id']}/activity").json()["data"]
        }
        assert {"customer.created", "customer.publication.succeeded"} <= types

    def test_seeding_again_adds_customers_but_not_campaigns(
        self, server: Server, project: Project, api: httpx.Client
    ) -> None:
        patrons(server.backend.url, "seed", "-n", "5", "--project", project.id)
        again = patrons(server.backend.url, "seed", "-n", "5", "--project", project.id)
        assert "campaigns: none new" in again.stdout
        assert api.get("/v1/customers").json()["total"] == 10
        assert api.get("/v1/campaigns").json()["total"] == 3

    def test_an_unknown_project_is_one_line(self, server: Server) -> None:
        done = patrons(server.backend.url, "seed", "--project", "proj_nope", ok=False)
        assert done.returncode == 1
        assert "no project proj_nope" in done.stderr
