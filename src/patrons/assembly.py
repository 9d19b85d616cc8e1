"""The composition root: what each package plugs into another's seam, named in one place.

Packages offer seams (the job-handler registry in async_actions/handlers.py, the eraser
registry in customers/erasure.py); the packages that own a job type or hold customer data
provide the implementations; this module — above every resource package, below api/ and
worker/ callers such as cli/ — registers them. `install()` is idempotent: the API process,
`patrons worker` and in-process tests all call it before serving.
"""

from __future__ import annotations

from functools import partial

from patrons.activities import service as activities
from patrons.activities.erasure import ActivitiesEraser
from patrons.activities.schemas import EVENT_TYPES
from patrons.async_actions import handlers as job_handlers
from patrons.async_actions.erasure import AsyncActionsEraser
from patrons.async_actions.handlers import BackgroundService
from patrons.consents.erasure import ConsentsEraser
from patrons.customers import erasure
from patrons.customers.jobs import BulkUpdate, ImportCsv, MetadataUpdate
from patrons.customers.wire import customer_to_wire
from patrons.exports.erasure import ExportsEraser
from patrons.exports.jobs import ExportJob
from patrons.idempotency_keys.erasure import IdempotencyKeysEraser
from patrons.orders.erasure import OrdersEraser
from patrons.redeemables.erasure import RedeemablesEraser
from patrons.redeemables.generation import GenerateVouchers
from patrons.redemptions.erasure import RedemptionsEraser
from patrons.segments.erasure import SegmentsEraser
from patrons.webhooks import dispatcher as webhook_dispatcher
from patrons.webhooks import service as webhooks
from patrons.webhooks.erasure import WebhooksEraser

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _install_job_handlers()
    _install_erasers()
    webhooks.register_event_types(EVENT_TYPES)  # a webhook may subscribe to any of them
    _installed = True


def services() -> list[BackgroundService]:
    """What every worker (`patrons worker`, the API's embedded one) runs beside its job loop."""
    render = partial(activities.event_payload, render_customer=customer_to_wire)
    return [webhook_dispatcher.service(render)]  # webhook deliveries


def _install_job_handlers() -> None:
    """One line per job type: the worker runs exactly the types registered here."""
    job_handlers.register(ImportCsv())  # CUSTOMERS.IMPORT_CSV
    job_handlers.register(BulkUpdate())  # CUSTOMERS.BULK_UPDATE
    job_handlers.register(MetadataUpdate())  # CUSTOMERS.METADATA_UPDATE
    job_handlers.register(GenerateVouchers())  # CAMPAIGN.VOUCHERS_GENERATE
    job_handlers.register(ExportJob())  # EXPORT


def _install_erasers() -> None:
    """One line per package that holds customer data, in the order permanent deletion runs
    them (after customers deleted its own rows; every check() runs before any erase()).

    Rows keyed by the person first, then their mentions in what others keep. Redeemables
    precedes customers' own final holdings scrub: it recomputes the holdings of customers tied
    to the person's vouchers, leaving only stray mentions. Otherwise the order is the lock
    order permanent deletion has always taken on PostgreSQL; keep new erasers appended.
    """
    erasure.register(ActivitiesEraser())  # customer_event: own events, mentions in others'
    erasure.register(SegmentsEraser())  # segment_member
    erasure.register(RedeemablesEraser())  # redeemable_holder, publication, voucher links
    erasure.register(AsyncActionsEraser())  # check(): 409 on a queued job naming them
    erasure.register(IdempotencyKeysEraser())  # stored responses naming them
    erasure.register(OrdersEraser())  # orders: anonymised (financial records)
    erasure.register(RedemptionsEraser())  # redemptions: anonymised (financial records)
    erasure.register(WebhooksEraser())  # webhook outbox and deliveries
    erasure.register(ExportsEraser())  # export files that may name them: deleted
    erasure.register(ConsentsEraser())  # customer_consent
