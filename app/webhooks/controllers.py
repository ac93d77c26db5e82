from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.core import outbound
from app.core.actor import Actor, Role
from app.core.deps import CurrentActor, DbSession, Settle
from app.core.schemas import Limit, Offset, Page
from app.core.settings import Settings
from app.core.types import utcnow
from app.webhooks import services
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from app.webhooks.schemas import DeliveryPublic, DeliveryStatus, EndpointCreated, EndpointIn, EndpointPublic, EventType


def _settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def delivery_public(delivery: WebhookDelivery, event_type: EventType) -> DeliveryPublic:
    return DeliveryPublic.model_validate({**delivery.model_dump(), "event_type": event_type})


async def _create(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    settle: Settle,
    actor: Actor,
    data: EndpointIn,
    vendor_id: uuid.UUID | None,
) -> EndpointCreated:
    settings = _settings(request)
    endpoint, secret = await services.create_endpoint(
        db_session,
        actor=actor,
        data=data,
        vendor_id=vendor_id,
        sealing_key=outbound.sealing_key(settings),
        allow_private=settings.webhook_allow_private,
    )
    await settle()
    return EndpointCreated.model_validate({**EndpointPublic.model_validate(endpoint).model_dump(), "secret": secret})


def _page(rows: list[WebhookEndpoint], total: int, limit: int, offset: int) -> Page[EndpointPublic]:
    return Page(items=[EndpointPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)


class WebhookController(Controller):
    """The company's outgoing webhooks: an admin subscribes its other systems' URLs to events."""

    path = "/api/webhooks"
    tags = ("webhooks",)

    @post("/", summary="Subscribe a URL to events; the signing secret is in this answer only")
    async def create_endpoint(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        data: JSONBody[EndpointIn],
    ) -> EndpointCreated:
        return await _create(request, db_session, settle, actor, data, None)

    @get("/", summary="The company's webhook endpoints")
    async def list_endpoints(
        self, db_session: DbSession, actor: CurrentActor, limit: Limit = 50, offset: Offset = 0
    ) -> Page[EndpointPublic]:
        actor.require_role()
        rows, total = await services.get_endpoints(db_session, vendor_id=None, limit=limit, offset=offset)
        return _page(rows, total, limit, offset)

    @delete("/{endpoint_id:uuid}", summary="Stop delivering to an endpoint (its delivery log goes with it)")
    async def delete_endpoint(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, endpoint_id: FromPath[uuid.UUID]
    ) -> None:
        actor.require_role()
        await services.delete_endpoint(db_session, endpoint_id=endpoint_id, vendor_id=None)
        await settle()

    @get("/deliveries", summary="The delivery log, newest first: attempts, the last answer, dead letters")
    async def list_deliveries(
        self,
        db_session: DbSession,
        actor: CurrentActor,
        endpoint_id: FromQuery[uuid.UUID | None] = None,
        status: FromQuery[DeliveryStatus | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[DeliveryPublic]:
        actor.require_role(Role.dpo, Role.auditor)
        where = services.DeliveryFilter(vendor_id=None, endpoint_id=endpoint_id, status=status)
        rows, total = await services.get_deliveries(db_session, where=where, limit=limit, offset=offset)
        return Page(items=[delivery_public(d, t) for d, t in rows], total=total, limit=limit, offset=offset)

    @post("/deliveries/{delivery_id:uuid}/redeliver", status_code=202, summary="Send a delivery's event again")
    async def redeliver(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, delivery_id: FromPath[uuid.UUID]
    ) -> DeliveryPublic:
        again, event_type = await services.redeliver(
            db_session, delivery_id=delivery_id, vendor_id=None, actor=actor, now=utcnow()
        )
        await settle()
        return delivery_public(again, event_type)


class VendorWebhookController(Controller):
    """A vendor's own endpoints (under /api/vendor): its duties opened, its attestations
    accepted or rejected (with the reason), its agreements issued."""

    path = "/webhooks"
    tags = ("vendor API",)

    @post("/", operation_id="create_webhook", summary="Register an endpoint; the signing secret is in this answer only")
    async def create_endpoint(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        data: JSONBody[EndpointIn],
    ) -> EndpointCreated:
        return await _create(request, db_session, settle, actor, data, actor.vendor)

    @get("/", operation_id="list_webhooks", summary="Your endpoints")
    async def list_endpoints(
        self, db_session: DbSession, actor: CurrentActor, limit: Limit = 50, offset: Offset = 0
    ) -> Page[EndpointPublic]:
        rows, total = await services.get_endpoints(db_session, vendor_id=actor.vendor, limit=limit, offset=offset)
        return _page(rows, total, limit, offset)

    @delete("/{endpoint_id:uuid}", operation_id="delete_webhook", summary="Remove an endpoint")
    async def delete_endpoint(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, endpoint_id: FromPath[uuid.UUID]
    ) -> None:
        await services.delete_endpoint(db_session, endpoint_id=endpoint_id, vendor_id=actor.vendor)
        await settle()

    @get("/deliveries", operation_id="list_webhook_deliveries", summary="Your delivery log, newest first")
    async def list_deliveries(
        self,
        db_session: DbSession,
        actor: CurrentActor,
        status: FromQuery[DeliveryStatus | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[DeliveryPublic]:
        where = services.DeliveryFilter(vendor_id=actor.vendor, status=status)
        rows, total = await services.get_deliveries(db_session, where=where, limit=limit, offset=offset)
        return Page(items=[delivery_public(d, t) for d, t in rows], total=total, limit=limit, offset=offset)

    @post(
        "/deliveries/{delivery_id:uuid}/redeliver",
        status_code=202,
        operation_id="redeliver_webhook",
        summary="Send one of your deliveries' event again",
    )
    async def redeliver(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, delivery_id: FromPath[uuid.UUID]
    ) -> DeliveryPublic:
        again, event_type = await services.redeliver(
            db_session, delivery_id=delivery_id, vendor_id=actor.vendor, actor=actor, now=utcnow()
        )
        await settle()
        return delivery_public(again, event_type)
