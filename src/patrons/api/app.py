"""create_app(): Litestar behind the Gateway, with the database opened per process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar
from litestar.di import Provide

from patrons import assembly, observability
from patrons.api import orphans
from patrons.api.docs import HANDLERS as DOCS_HANDLERS
from patrons.api.gateway import Gateway
from patrons.api.health import HANDLERS as HEALTH_HANDLERS
from patrons.api.rate_limits import RateLimiter
from patrons.async_actions import handlers as job_handlers
from patrons.async_actions.router import reports_router
from patrons.async_actions.router import router as async_actions_router
from patrons.cockpit.router import router as cockpit_router
from patrons.consents.router import router as consents_router
from patrons.customers import service as customers
from patrons.customers.router import router as customers_router
from patrons.db import database
from patrons.events.router import router as events_router
from patrons.exports.router import downloads_router as export_downloads_router
from patrons.exports.router import router as exports_router
from patrons.http.errors import exception_handler
from patrons.http.requests import provide_db, provide_project
from patrons.oauth.router import router as oauth_router
from patrons.oauth.service import BearerAuthenticator
from patrons.observability import configure_logging
from patrons.orders.router import router as orders_router
from patrons.projects.service import Authenticator, Project
from patrons.redeemables.router import router as redeemables_router
from patrons.redemptions.router import router as redemptions_router
from patrons.segments.router import router as segments_router
from patrons.segments.service import Resolver
from patrons.settings import Settings
from patrons.webhooks.router import router as webhooks_router
from patrons.worker.embedded import EmbeddedWorker

log = logging.getLogger("patrons.api")


async def _flush_access_log_loop() -> None:
    while True:
        await asyncio.sleep(observability.FLUSH_SECONDS)
        observability.flush_access_log()


def _customer_resolver() -> Resolver:
    return customers.resolve_many


def create_app(settings: Settings | None = None) -> Any:
    settings = settings or Settings.from_env()
    assembly.install()  # the registered seams (erasers, job handlers)
    configure_logging(settings.log_level, settings.log_format)
    observability.start_process_metrics()  # shared files under `serve --workers N`
    gateway: Gateway

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        db = await database.connect(
            settings.database_url,
            pg_pool_min=settings.pg_pool_min,
            pg_pool_max=settings.pg_pool_max,
        )
        app.state.db = db
        gateway.authenticator = Authenticator(db, ttl=settings.auth_cache_seconds)
        gateway.db = db
        gateway.bearer = BearerAuthenticator(db)
        gateway.rate_limiter = RateLimiter.from_settings(db, settings)
        app.state.oauth_token_ttl_seconds = settings.oauth_token_ttl_seconds
        checkpoint = database.start_checkpoints(db)
        flusher = asyncio.create_task(_flush_access_log_loop())
        worker = None
        if settings.embedded_worker:  # on its own thread: the API never waits for a job
            worker = EmbeddedWorker(
                settings.database_url,
                handlers=job_handlers.registered(),
                chunk_rows=settings.worker_chunk_rows,
                lease_ms=settings.worker_lease_ms,
                poll=settings.worker_poll_seconds,
                services=assembly.services(),
            )
            await asyncio.to_thread(worker.start)
        orphan_watch = orphans.watch()  # under `patrons serve`: exit with its main process
        gc.freeze()  # start-up objects never need collecting; keeps GC pauses short
        try:
            yield
        finally:
            if orphan_watch is not None:
                orphan_watch.cancel()
            if worker is not None:
                await worker.stop()  # finishes (or never starts) its current chunk
            if checkpoint is not None:
                checkpoint.cancel()
            flusher.cancel()
            observability.flush_access_log()
            await db.close()
            observability.stop_process_metrics()

    app = Litestar(
        route_handlers=[
            customers_router,
            async_actions_router,
            reports_router,
            segments_router,
            redeemables_router,
            orders_router,
            redemptions_router,
            exports_router,
            export_downloads_router,
            events_router,
            consents_router,
            oauth_router,
            webhooks_router,
            *HEALTH_HANDLERS,
            *DOCS_HANDLERS,
            *([cockpit_router(secret=settings.cockpit_secret)] if settings.cockpit else []),
        ],
        dependencies={
            "db": Provide(provide_db, sync_to_thread=False),
            "project": Provide(provide_project, sync_to_thread=False),
            # Seams between resources, wired here (docs/ARCHITECTURE.md, "Layers").
            "resolve_customers": Provide(_customer_resolver, sync_to_thread=False),
        },
        exception_handlers={Exception: exception_handler(settings.max_body_bytes)},
        # http/ names Project for types only (it sits below projects/); Litestar resolves the
        # providers' annotations at start-up and finds the name here.
        signature_namespace={"Project": Project},
        request_max_body_size=settings.max_body_bytes,
        lifespan=[lifespan],
        openapi_config=None,
        debug=False,
    )
    gateway = Gateway(
        app,
        authenticator=None,
        max_body=settings.max_body_bytes,
        access_log=settings.access_log,
    )
    return gateway
