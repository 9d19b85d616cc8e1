"""Consent use cases: set a customer's consents, list the project's consent ids. Never commits.

The rows (customer_consent) are the record; the customer object shows them as
`system_metadata.consents` — `{<consent id>: {"date": <last set>, "value": <bool>}}` — a copy
stored on the customer row through customers.service.set_system_metadata in the same
transaction (the row locked first, so concurrent updates of one customer take turns), so
reading a customer stays one primary-key read. No activity is recorded: the consent event
types of the 2023 spec (`customer.consents.*`) are refused by the current SDKs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from patrons.consents import repository
from patrons.consents.schemas import (
    UNSUBSCRIBED,
    Consent,
    ConsentList,
    ConsentsListed,
    GroupList,
)
from patrons.core import limits
from patrons.core.clock import format_ms, now_ms
from patrons.core.errors import InvalidPayload
from patrons.customers import service as customers
from patrons.db.database import Conn, Database, Row

LIST_MAX = 1000  # consent ids listed by GET /v1/consents (`total` counts them all)


def check(consents: Mapping[str, bool]) -> None:
    if len(consents) > limits.CONSENTS_PER_REQUEST_MAX:
        raise InvalidPayload(
            f"Payload must NOT have more than {limits.CONSENTS_PER_REQUEST_MAX} consents"
        )
    for consent_id in consents:
        if not consent_id:
            raise InvalidPayload("Payload: a consent identifier must not be empty")
        if len(consent_id) > limits.CONSENT_ID_MAX:
            raise InvalidPayload(
                "Payload: "
                + limits.too_long("a consent identifier", consent_id, limits.CONSENT_ID_MAX)
            )


def system_metadata(rows: list[Row]) -> dict[str, Any]:
    """The customer's wire `system_metadata` ({} when no consent was ever set)."""
    if not rows:
        return {}
    return {
        "consents": {
            r["consent_id"]: {"date": format_ms(r["updated_at"]), "value": bool(r["value"])}
            for r in rows
        }
    }


async def update(conn: Conn, *, project_id: str, ref: str, consents: Mapping[str, bool]) -> None:
    """PUT /v1/customers/{id}/consents: each consent id set to its value. `unsubscribed: true`
    withdraws every consent the customer has given; giving any consent afterwards turns a
    stored `unsubscribed` false again. Unknown customer: 404, nothing written."""
    check(consents)
    customer_id = (await customers.get_or_raise(conn, project_id=project_id, ref=ref))["id"]

    async def written() -> dict[str, Any]:  # called with the customer row locked
        now = now_ms()
        await repository.set_values(
            conn,
            project_id=project_id,
            customer_id=customer_id,
            values=list(consents.items()),
            now=now,
        )
        if consents.get(UNSUBSCRIBED) is True:
            await repository.withdraw_all(
                conn, project_id=project_id, customer_id=customer_id, now=now
            )
        elif any(value for key, value in consents.items() if key != UNSUBSCRIBED):
            await repository.resubscribe(
                conn, project_id=project_id, customer_id=customer_id, now=now
            )
        rows = await repository.of_customer(conn, project_id=project_id, customer_id=customer_id)
        return system_metadata(rows)

    await customers.set_system_metadata(
        conn, project_id=project_id, customer_id=customer_id, value_of=written
    )


async def list_(db: Database | Conn, *, project_id: str) -> ConsentsListed:
    """GET /v1/consents: the consent ids the project has set on its customers, by id."""
    rows = await repository.definitions(db, project_id=project_id, limit=LIST_MAX)
    total = (
        len(rows)
        if len(rows) < LIST_MAX
        else await repository.count_definitions(db, project_id=project_id)
    )
    consents = [
        Consent(
            id=r["consent_id"],
            name=r["consent_id"],
            created_at=format_ms(r["created_at"]),
            updated_at=format_ms(r["updated_at"]),
        )
        for r in rows
    ]
    return ConsentsListed(
        groups=GroupList(data=[], total=0), consents=ConsentList(data=consents, total=total)
    )
