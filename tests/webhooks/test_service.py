"""webhooks in process (each test rolled back), on both databases: the outbox is written in
the event writer's transaction exactly when the project has an active webhook; configuration
rules; the address policy; the eraser."""

from __future__ import annotations

import hashlib
import hmac

import msgspec
import pytest

from patrons.activities import service as activities
from patrons.core.erasure import Subject
from patrons.core.errors import InvalidPayload, NotFound
from patrons.core.origin import Origin
from patrons.customers import service as customers
from patrons.customers.schemas import CustomerUpdate
from patrons.db.database import Conn
from patrons.projects.service import Credentials
from patrons.webhooks import repository, service
from patrons.webhooks.dispatcher import Options, sign
from patrons.webhooks.erasure import WebhooksEraser
from patrons.webhooks.schemas import WebhookWrite
from patrons.webhooks.targets import AddressPolicy, url_problem
from tests.factories import add_customer

ORIGIN = Origin(request_id="v-test", app_id="app-test")


def write(**fields: object) -> WebhookWrite:
    return msgspec.convert(fields, WebhookWrite)


async def add_hook(conn: Conn, tenant: Credentials, *events: str, active: bool = True) -> str:
    made = await service.create(
        conn,
        project_id=tenant.project_id,
        body=write(
            target_url="https://example.com/h",
            events=list(events or ["customer.created"]),
            active=active,
        ),
    )
    return made.id


async def outbox(conn: Conn, tenant: Credentials) -> list[tuple[str, str, str]]:
    """(event type, customer id, event id) of the project's outbox rows, in order."""
    rows = await conn.fetch(
        "SELECT e.type, o.customer_id, o.event_id FROM webhook_outbox o"
        " JOIN customer_event e ON e.project_id = o.project_id AND e.id = o.event_id"
        " WHERE o.project_id = $1 ORDER BY o.seq",
        tenant.project_id,
    )
    return [(r[0], r[1], r[2]) for r in rows]


class TestOutbox:
    async def test_nothing_without_an_active_webhook(self, conn: Conn, tenant: Credentials):
        await add_customer(conn, tenant)
        await add_hook(conn, tenant, active=False)
        await add_customer(conn, tenant)
        assert await outbox(conn, tenant) == []

    async def test_every_event_of_the_write_path(self, conn: Conn, tenant: Credentials):
        await add_hook(conn, tenant, "customer.deleted")  # any active webhook: all events
        made = await add_customer(conn, tenant)
        await customers.update(
            conn,
            project_id=tenant.project_id,
            ref=made.id,
            body=msgspec.convert({"name": "Grace"}, CustomerUpdate),
            origin=ORIGIN,
        )
        rows = await outbox(conn, tenant)
        assert [(t, c) for t, c, _ in rows] == [
            ("customer.created", made.id),
            ("customer.updated", made.id),
        ]
        events = await conn.fetch(
            "SELECT id FROM customer_event WHERE project_id = $1 AND customer_id = $2",
            tenant.project_id,
            made.id,
        )
        assert {e[0] for e in events} == {r[2] for r in rows}  # the log's own event ids

    async def test_recorded_events_one_row_per_customer(self, conn: Conn, tenant: Credentials):
        first, second = await add_customer(conn, tenant), await add_customer(conn, tenant)
        await add_hook(conn, tenant)
        await activities.record(
            conn,
            project_id=tenant.project_id,
            customer_ids=[first.id, second.id],
            type_="customer.segment.entered",
            origin=ORIGIN,
        )
        rows = await outbox(conn, tenant)
        assert sorted((t, c) for t, c, _ in rows) == sorted(
            [("customer.segment.entered", first.id), ("customer.segment.entered", second.id)]
        )

    async def test_other_projects_events_stay_out(
        self, conn: Conn, tenant: Credentials, other_tenant: Credentials
    ):
        await add_hook(conn, tenant)
        await add_customer(conn, other_tenant)
        assert await outbox(conn, other_tenant) == []
        assert await outbox(conn, tenant) == []


class TestConfiguration:
    async def test_events_deduplicated_and_activity_types_accepted(
        self, conn: Conn, tenant: Credentials
    ):
        made = await service.create(
            conn,
            project_id=tenant.project_id,
            body=write(
                target_url="http://localhost:8080/x",
                events=[
                    "customer.segment.entered",
                    "redemption.succeeded",
                    "customer.segment.entered",
                ],
            ),
        )
        assert made.events == ["customer.segment.entered", "redemption.succeeded"]
        assert made.active is True

    async def test_unknown_webhook_is_not_found(self, conn: Conn, tenant: Credentials):
        with pytest.raises(NotFound):
            await service.get(conn, project_id=tenant.project_id, webhook_id="wh_nope")
        with pytest.raises(NotFound):
            await service.delete(conn, project_id=tenant.project_id, webhook_id="wh_nope")
        with pytest.raises(NotFound):
            await service.update(
                conn,
                project_id=tenant.project_id,
                webhook_id="wh_nope",
                body=write(target_url="https://a.io", events=["customer.created"]),
            )

    async def test_private_targets_follow_the_policy(self, conn: Conn, tenant: Credentials):
        body = write(target_url="http://192.168.1.5/h", events=["customer.created"])
        with pytest.raises(InvalidPayload):
            await service.create(conn, project_id=tenant.project_id, body=body)
        allowed = AddressPolicy(allow_private=True)
        made = await service.create(conn, project_id=tenant.project_id, body=body, policy=allowed)
        assert made.target_url == "http://192.168.1.5/h"

    async def test_secret_is_stable_until_rotated(self, conn: Conn, tenant: Credentials):
        first = await service.secret(conn, project_id=tenant.project_id)
        assert await service.secret(conn, project_id=tenant.project_id) == first
        await add_hook(conn, tenant)  # creating a webhook keeps the existing secret
        assert await service.secret(conn, project_id=tenant.project_id) == first
        rotated = await service.secret(conn, project_id=tenant.project_id, rotate=True)
        assert rotated != first
        assert await service.secret(conn, project_id=tenant.project_id) == rotated


class TestErasure:
    async def test_outbox_and_deliveries_of_the_person_go(self, conn: Conn, tenant: Credentials):
        hook = await add_hook(conn, tenant)
        gone, kept = await add_customer(conn, tenant), await add_customer(conn, tenant)
        rows = await outbox(conn, tenant)
        await repository.insert_deliveries(
            conn,
            project_id=tenant.project_id,
            rows=[
                ("whdl_a", hook, rows[0][2], "customer.created", gone.id, 1, '{"c":"x"}', 0),
                (
                    "whdl_b",
                    hook,
                    rows[1][2],
                    "customer.created",
                    kept.id,
                    2,
                    msgspec.json.encode({"referrer": gone.id}).decode(),
                    0,
                ),
            ],
        )
        subject = Subject(
            target_id=gone.id, customer_ids=(gone.id,), source_ids=(), values=(gone.id,)
        )
        counts = await WebhooksEraser().erase(conn, project_id=tenant.project_id, subject=subject)
        assert counts == {"webhook_deliveries": 2}  # one deleted, one scrubbed
        assert [c for _, c, _ in await outbox(conn, tenant)] == [kept.id]
        left = await repository.deliveries(
            conn, project_id=tenant.project_id, webhook_id=None, limit=10
        )
        assert [r["id"] for r in left] == ["whdl_b"]
        assert gone.id not in left[0]["body"]


class TestLog:
    async def test_prune_drops_only_old_finished_deliveries(self, conn: Conn, tenant: Credentials):
        hook = await add_hook(conn, tenant)
        made = await add_customer(conn, tenant)
        rows = [
            (f"whdl_{name}", hook, f"evcus_{name}", "customer.created", made.id, i, "{}", at)
            for i, (name, at) in enumerate([("old", 1_000), ("new", 10_000), ("due", 1_000)])
        ]
        await repository.insert_deliveries(conn, project_id=tenant.project_id, rows=rows)
        await conn.execute(
            "UPDATE webhook_delivery SET status = 'DELIVERED'"
            " WHERE project_id = $1 AND id IN ('whdl_old', 'whdl_new')",
            tenant.project_id,
        )
        assert await repository.prune(conn, before=5_000, limit=10) == 1
        left = await service.delivery_log(conn, project_id=tenant.project_id, webhook_id=hook)
        assert sorted(r["id"] for r in left) == ["whdl_due", "whdl_new"]  # PENDING stays

    async def test_switching_off_parks_pending_deliveries_until_switched_on(
        self, conn: Conn, tenant: Credentials
    ):
        hook = await add_hook(conn, tenant)
        made = await add_customer(conn, tenant)
        row = ("whdl_p", hook, "evcus_p", "customer.created", made.id, 1, "{}", 1_000)
        await repository.insert_deliveries(conn, project_id=tenant.project_id, rows=[row])

        async def next_at() -> int:
            [got] = await service.delivery_log(conn, project_id=tenant.project_id)
            return int(got["next_at"])

        async def due_here() -> list[str]:
            # The database is shared with other tests' projects: look at this one's only.
            due = await repository.due_deliveries(conn, now=10**13, limit=100_000)
            return [r["id"] for r in due if r["project_id"] == tenant.project_id]

        async def switch(active: bool) -> None:
            await service.update(
                conn,
                project_id=tenant.project_id,
                webhook_id=hook,
                body=write(
                    target_url="https://example.com/h", events=["customer.created"], active=active
                ),
            )

        await conn.execute("DELETE FROM webhook_outbox WHERE project_id = $1", tenant.project_id)
        await switch(False)
        assert await next_at() == repository.PARKED
        assert "whdl_p" not in await due_here()
        await switch(True)
        assert 1_000 < await next_at() < repository.PARKED
        assert "whdl_p" in await due_here()


class TestPolicyAndSigning:
    @pytest.mark.parametrize(
        ("address", "default", "private"),
        [
            ("127.0.0.1", False, False),
            ("::1", False, False),
            ("10.1.2.3", True, False),
            ("172.16.0.1", True, False),
            ("192.168.0.1", True, False),
            ("169.254.169.254", True, False),
            ("100.64.0.1", True, False),
            ("fd00::1", True, False),
            ("::ffff:10.0.0.1", True, False),
            ("0.0.0.0", True, True),
            ("224.0.0.1", True, True),
            ("93.184.216.34", False, False),
        ],
    )
    def test_refused_addresses(self, address: str, default: bool, private: bool) -> None:
        assert AddressPolicy().refuses(address) is default
        assert AddressPolicy(allow_private=True).refuses(address) is private
        no_loopback = AddressPolicy(allow_loopback=False)
        if address in ("127.0.0.1", "::1"):
            assert no_loopback.refuses(address)

    def test_url_rules(self) -> None:
        policy = AddressPolicy()
        assert url_problem("https://example.com/x?y=1", policy) is None
        assert url_problem("http://localhost:3000/h", policy) is None
        for bad in ("ftp://a.io", "https://", "a.io/x", "http://a.io:99999/", "http://a b.io/"):
            assert url_problem(bad, policy) is not None, bad
        assert url_problem("https://a.io/" + "x" * 3000, policy) is not None

    def test_signature_is_hex_hmac_sha256_of_the_body(self) -> None:
        body = b'{"id":"evcus_1"}'
        assert sign("s3cret", body) == hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()

    def test_backoff_doubles_from_the_base(self) -> None:
        options = Options(retry_base_seconds=60)
        assert [options.backoff_ms(n) for n in (1, 2, 3)] == [60_000, 120_000, 240_000]
