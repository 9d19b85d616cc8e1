"""Demo data through the services, so events, segment memberships and summaries are real.

`seed(db, project_id=…, customers=N)` creates (once per project, found again by name) three
rule segments and three campaigns, then N customers in batches, each batch one transaction as
an API request would be. New customers get activity: publications of the welcome coupon, the
gift card and the loyalty card, and profile updates that move them between segments. A static
"Beta testers" segment of the first customers ends the run. `random_seed` makes it repeatable.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from patrons.core.errors import NotFound
from patrons.core.origin import Origin
from patrons.customers import service as customers
from patrons.customers.schemas import CustomerCreate
from patrons.db.database import Conn, Database
from patrons.redeemables import campaigns, publications
from patrons.redeemables.schemas import CampaignCreate
from patrons.segments import service as segments
from patrons.segments.schemas import SegmentCreate

BATCH = 50
ORIGIN = Origin(channel="API")
Progress = Callable[[int], None]

FIRST = (  # noqa: SIM905 - a list of words reads better as words
    "Ada Alan Grace Linus Margaret Ken Barbara Dennis Frances Edsger Radia Donald Hedy Tim "
    "Katherine John Sophie Guido Anita Bjarne Joan Niklaus Lynn Leslie Marta Piotr Olga Jan "
    "Zofia Tomasz Ines Luca Chiara Mateo Lucia Noah Emma Yuki Haruto Amara"
).split()
LAST = (  # noqa: SIM905 - a list of words reads better as words
    "Lovelace Turing Hopper Torvalds Hamilton Thompson Liskov Ritchie Allen Dijkstra Perlman "
    "Knuth Lamarr Berners-Lee Johnson McCarthy Wilson Rossum Borg Stroustrup Clarke Wirth "
    "Conway Lamport Nowak Kowalska Weber Rossi Garcia Sato Okafor Novak"
).split()
CITIES = (
    ("Warsaw", "Mazowieckie", "PL", "00-001"),
    ("Krakow", "Malopolskie", "PL", "30-001"),
    ("Berlin", "Berlin", "DE", "10115"),
    ("Munich", "Bavaria", "DE", "80331"),
    ("Paris", "Ile-de-France", "FR", "75001"),
    ("Madrid", "Madrid", "ES", "28001"),
    ("Milan", "Lombardy", "IT", "20121"),
    ("London", "England", "GB", "EC1A"),
    ("New York", "NY", "US", "10001"),
    ("Austin", "TX", "US", "73301"),
)
STREETS = ("Main St", "Market Sq", "Oak Ave", "River Rd", "Station Rd", "Park Ln", "High St")
TIERS = ("bronze", "bronze", "bronze", "silver", "silver", "gold", "platinum")
CHANNELS = ("web", "mobile", "store", "partner")

SEGMENTS: tuple[dict[str, Any], ...] = (
    {
        "name": "VIP (gold and platinum)",
        "type": "auto-update",
        "filter": {
            "junction": "and",
            "metadata.tier": {"conditions": {"$in": ["gold", "platinum"]}},
        },
    },
    {
        "name": "Newsletter subscribers",
        "type": "auto-update",
        "filter": {"junction": "and", "metadata.newsletter": {"conditions": {"$is": True}}},
    },
    {
        "name": "Customers in Poland",
        "type": "passive",
        "filter": {"junction": "and", "address.country": {"conditions": {"$is": "PL"}}},
    },
)
WELCOME, GIFT, LOYALTY = "Welcome 10% off", "Gift card 50", "Loyalty club"
CAMPAIGNS: tuple[dict[str, Any], ...] = (
    {
        "name": WELCOME,
        "description": "A 10% coupon for every new customer",
        "campaign_type": "DISCOUNT_COUPONS",
        "type": "AUTO_UPDATE",
        "voucher": {
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "PERCENT", "percent_off": 10},
            "code_config": {"pattern": "WELCOME-########"},
        },
        "metadata": {"demo": True},
    },
    {
        "name": GIFT,
        "description": "Gift cards worth 50.00",
        "campaign_type": "GIFT_VOUCHERS",
        "type": "AUTO_UPDATE",
        "voucher": {"type": "GIFT_VOUCHER", "gift": {"amount": 5000}},
        "metadata": {"demo": True},
    },
    {
        "name": LOYALTY,
        "description": "100 points on joining",
        "campaign_type": "LOYALTY_PROGRAM",
        "voucher": {"type": "LOYALTY_CARD", "loyalty_card": {"points": 100}},
        "metadata": {"demo": True},
    },
)


@dataclass
class Seeded:
    customers_created: int = 0
    customers_existing: int = 0  # seeded before (the same --random-seed): updated, no activity
    profile_updates: int = 0
    publications: int = 0
    segments: list[str] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)


def _customer(rng: random.Random, run: str, number: int) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    city, state, country, postal = rng.choice(CITIES)
    handle = f"{first}.{last}".lower().replace("-", "")
    return {
        "source_id": f"demo-{run}-{number:05d}",
        "name": f"{first} {last}",
        "email": f"{handle}{rng.randrange(1000)}@example.com",
        "phone": f"+{rng.randrange(10, 99)} {rng.randrange(100, 999)} {rng.randrange(1000000)}",
        "birthdate": f"{rng.randrange(1950, 2006)}-{rng.randrange(1, 13):02d}-"
        f"{rng.randrange(1, 29):02d}",
        "address": {
            "city": city,
            "state": state,
            "country": country,
            "postal_code": postal,
            "line_1": f"{rng.randrange(1, 200)} {rng.choice(STREETS)}",
        },
        "metadata": {
            "tier": rng.choice(TIERS),
            "newsletter": rng.random() < 0.4,
            "lifetime_value": round(rng.uniform(0, 5000), 2),
            "signup_channel": rng.choice(CHANNELS),
            "demo": True,
        },
    }


def _decode(body: dict[str, Any], type_: type[Any]) -> Any:
    """As the API decodes a request body (same struct, same conversions)."""
    return msgspec.json.decode(msgspec.json.encode(body), type=type_)


async def _existing_segment_names(db: Database, project_id: str) -> set[str]:
    listed = await segments.list_(db, project_id=project_id, params={"limit": "100"})
    return {s.name for s in listed.data}


async def _ensure_campaign(conn: Conn, project_id: str, body: dict[str, Any]) -> bool:
    """Create the campaign unless one of that name exists; True when created."""
    try:
        await campaigns.get_row(conn, project_id=project_id, ref=body["name"])
        return False
    except NotFound:
        await campaigns.create(
            conn, project_id=project_id, body=_decode(body, CampaignCreate), origin=ORIGIN
        )
        return True


async def _publish(conn: Conn, project_id: str, campaign: str, source_id: str) -> None:
    body = {"campaign": campaign, "customer": {"source_id": source_id}, "channel": "API"}
    await publications.create(
        conn,
        project_id=project_id,
        body=_decode(body, publications.PublicationCreate),
        origin=ORIGIN,
    )


async def _activity(
    conn: Conn, project_id: str, rng: random.Random, body: dict[str, Any], done: Seeded
) -> None:
    """What a new customer did after signing up."""
    source_id = body["source_id"]
    for campaign, share in ((WELCOME, 0.5), (LOYALTY, 0.3), (GIFT, 0.1)):
        if rng.random() < share:
            await _publish(conn, project_id, campaign, source_id)
            done.publications += 1
    if rng.random() < 0.25:
        metadata = {**body["metadata"], "tier": rng.choice(TIERS), "newsletter": True}
        change = {"source_id": source_id, "metadata": metadata}
        await customers.upsert(
            conn, project_id=project_id, body=_decode(change, CustomerCreate), origin=ORIGIN
        )
        done.profile_updates += 1


async def seed(
    db: Database,
    *,
    project_id: str,
    customers_count: int,
    random_seed: int | None = None,
    progress: Progress | None = None,
) -> Seeded:
    """Seed demo data into an existing project; `progress(n)` after each batch of customers."""
    rng = random.Random(random_seed)
    run = f"{rng.getrandbits(24):06x}" if random_seed is not None else secrets.token_hex(3)
    done = Seeded()
    names = await _existing_segment_names(db, project_id)
    async with db.transaction() as conn:
        for spec in SEGMENTS:
            if spec["name"] not in names:
                await segments.create(
                    conn,
                    project_id=project_id,
                    body=_decode(spec, SegmentCreate),
                    resolve=customers.resolve_many,
                )
                done.segments.append(spec["name"])
        for spec in CAMPAIGNS:
            if await _ensure_campaign(conn, project_id, spec):
                done.campaigns.append(spec["name"])
    first_ids: list[str] = []
    for start in range(0, customers_count, BATCH):
        size = min(BATCH, customers_count - start)
        async with db.transaction() as conn:
            for number in range(start, start + size):
                body = _customer(rng, run, number)
                made = await customers.upsert(
                    conn, project_id=project_id, body=_decode(body, CustomerCreate), origin=ORIGIN
                )
                if made.updated_at is not None:
                    done.customers_existing += 1
                    continue
                done.customers_created += 1
                if len(first_ids) < 10:
                    first_ids.append(made.id)
                await _activity(conn, project_id, rng, body, done)
        if progress is not None:
            progress(size)
    if first_ids:
        beta_name = f"Beta testers {run}"
        beta = {"name": beta_name, "type": "static", "customers": first_ids}
        async with db.transaction() as conn:
            await segments.create(
                conn,
                project_id=project_id,
                body=_decode(beta, SegmentCreate),
                resolve=customers.resolve_many,
            )
        done.segments.append(beta_name)
    return done
