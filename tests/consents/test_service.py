"""consents.service and repository in process (each test rolled back): the rows, the copy on
the customer row, `unsubscribed`, the definitions list and tenancy in the SQL itself."""

from __future__ import annotations

import msgspec
import pytest

from patrons.consents import repository, service
from patrons.core.errors import InvalidPayload, NotFound
from patrons.customers import service as customers
from patrons.db.database import Conn
from patrons.projects.service import Credentials
from tests.factories import add_customer


async def shown(conn: Conn, tenant: Credentials, ref: str) -> dict[str, bool]:
    wire = await customers.get(conn, project_id=tenant.project_id, ref=ref)
    consents = msgspec.json.decode(wire.system_metadata).get("consents", {})
    return {key: entry["value"] for key, entry in consents.items()}


async def test_rows_and_the_customer_copy_agree(conn: Conn, tenant: Credentials):
    person = await add_customer(conn, tenant)

    await service.update(conn, project_id=tenant.project_id, ref=person.id, consents={"a": True})
    await service.update(
        conn, project_id=tenant.project_id, ref=person.id, consents={"b": False, "a": False}
    )

    rows = await repository.of_customer(conn, project_id=tenant.project_id, customer_id=person.id)
    assert [(r["consent_id"], bool(r["value"])) for r in rows] == [("a", False), ("b", False)]
    assert await shown(conn, tenant, person.id) == {"a": False, "b": False}


async def test_unsubscribed_then_a_consent_again(conn: Conn, tenant: Credentials):
    person = await add_customer(conn, tenant)
    update = service.update
    await update(conn, project_id=tenant.project_id, ref=person.id, consents={"a": True, "b": True})

    await update(conn, project_id=tenant.project_id, ref=person.id, consents={"unsubscribed": True})
    assert await shown(conn, tenant, person.id) == {"a": False, "b": False, "unsubscribed": True}

    await update(conn, project_id=tenant.project_id, ref=person.id, consents={"a": True})
    assert await shown(conn, tenant, person.id) == {"a": True, "b": False, "unsubscribed": False}


async def test_a_false_consent_does_not_resubscribe(conn: Conn, tenant: Credentials):
    person = await add_customer(conn, tenant)
    update = service.update
    await update(conn, project_id=tenant.project_id, ref=person.id, consents={"unsubscribed": True})

    await update(conn, project_id=tenant.project_id, ref=person.id, consents={"a": False})

    assert await shown(conn, tenant, person.id) == {"a": False, "unsubscribed": True}


@pytest.mark.parametrize(
    "consents", [{"": True}, {"x" * 513: True}, {str(i): True for i in range(101)}]
)
async def test_bad_ids_are_refused_before_the_customer_is_read(
    conn: Conn, tenant: Credentials, consents
):
    with pytest.raises(InvalidPayload):
        await service.update(conn, project_id=tenant.project_id, ref="nobody", consents=consents)


async def test_another_projects_customer_is_not_found(
    conn: Conn, tenant: Credentials, other_tenant: Credentials
):
    person = await add_customer(conn, tenant)

    with pytest.raises(NotFound):
        await service.update(
            conn, project_id=other_tenant.project_id, ref=person.id, consents={"a": True}
        )
    assert (
        await repository.of_customer(
            conn, project_id=other_tenant.project_id, customer_id=person.id
        )
        == []
    )


async def test_definitions_are_per_project(
    conn: Conn, tenant: Credentials, other_tenant: Credentials
):
    mine = await add_customer(conn, tenant)
    theirs = await add_customer(conn, other_tenant)
    await service.update(
        conn, project_id=tenant.project_id, ref=mine.id, consents={"m": True, "unsubscribed": False}
    )
    await service.update(
        conn, project_id=other_tenant.project_id, ref=theirs.id, consents={"t": True}
    )

    listed = await service.list_(conn, project_id=tenant.project_id)

    assert [c.id for c in listed.consents.data] == ["m"]
    assert listed.consents.total == 1
    assert await repository.count_definitions(conn, project_id=other_tenant.project_id) == 1


async def test_erase_counts_only_the_subjects_rows(conn: Conn, tenant: Credentials):
    gone = await add_customer(conn, tenant)
    kept = await add_customer(conn, tenant)
    for person in (gone, kept):
        await service.update(
            conn, project_id=tenant.project_id, ref=person.id, consents={"a": True, "b": True}
        )

    erased = await repository.erase_customers(
        conn, project_id=tenant.project_id, customer_ids=[gone.id]
    )

    assert erased == 2
    assert (
        len(await repository.of_customer(conn, project_id=tenant.project_id, customer_id=kept.id))
        == 2
    )
