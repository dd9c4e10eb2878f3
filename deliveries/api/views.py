"""REST API for publishing events, reading deliveries and replaying them."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from deliveries.access import deliveries_for, get_delivery_or_404
from deliveries.actions import ReplayRefused, replay, send_missed, send_test
from deliveries.api.serializers import (
    DeliveryDetailSerializer,
    DeliveryFilterSerializer,
    DeliverySerializer,
    EventAcceptedSerializer,
    EventBatchAcceptedSerializer,
    EventBatchSerializer,
    EventIngestSerializer,
    SendMissedResultSerializer,
    SendMissedSerializer,
    TestEventSerializer,
)
from deliveries.publishing import (
    PublishError,
    UnknownEventType,
    check_batch_size,
    publish,
    publish_many,
)
from hookhub.api.errors import BodyOperationSchema
from hookhub.api.pagination import NewestFirst
from hookhub.api.parsers import JSON_ONLY
from hookhub.api.schema import ErrorSerializer
from hookhub.throttling import PublishThrottle, SendTestThrottle
from subscriptions import access
from subscriptions.models import Endpoint


class IsStaff(permissions.BasePermission):
    message = "Publishing events needs a staff user's token."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_staff)


class EventIngestView(generics.GenericAPIView):
    serializer_class = EventIngestSerializer
    parser_classes = JSON_ONLY
    schema = BodyOperationSchema()
    permission_classes = [permissions.IsAuthenticated, IsStaff]
    # Instead of the general per-user limit: publishing has a larger budget of its own.
    throttle_classes = [PublishThrottle]

    @extend_schema(
        summary="Publish an event (staff tokens)",
        description="Stores the event and one delivery per subscribed endpoint, then "
        "returns at once; delivery happens in the background. With an `idempotency_key` "
        "already used by this user, the first event's id is returned and nothing new is made.",
        responses={202: EventAcceptedSerializer},
    )
    def post(self, request):

        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        try:
            event = publish(
                values["type"],
                values["data"],
                idempotency_key=values.get("idempotency_key") or None,
                scope=f"user:{request.user.pk}",
            )
        except PublishError as error:
            return publish_error_response(error)
        count = getattr(event, "delivery_count", None)
        if count is None:
            count = event.deliveries.count()
        body = EventAcceptedSerializer({"id": event.uid, "deliveries": count})
        return Response(body.data, status=status.HTTP_202_ACCEPTED)


def publish_error_response(error, data_field: str = "data") -> Response:
    """A PublishError as the API's 400: its message, and each `{path, message}` as a field
    error (unknown types under `type`, payload problems under `data`)."""

    field = "type" if isinstance(error, UnknownEventType) else data_field
    messages = [
        f"{item['path']}: {item['message']}" if item.get("path") else item["message"]
        for item in error.errors
        if item.get("path") != "type"
    ] or [error.message]
    return Response(
        {"detail": error.message, "code": "invalid", "errors": {field: messages}},
        status=status.HTTP_400_BAD_REQUEST,
    )


BATCH_DESCRIPTION = """Publishes every item of `events` as an event of `type`, **all-or-nothing**:
every item is checked first (its `data` against the type's schema and the size limits), and
if any is refused the answer is 400 and nothing is stored or sent. Otherwise all events and
their deliveries are stored in one transaction and the answer lists them in input order;
delivery happens in the background. At most `HOOKHUB_PUBLISH_BATCH_MAX` (default 1000) items.

An item's `idempotency_key` works as on `POST /api/v1/events/`, sharing its keys: a key this
user already used gives back the first event's id and makes nothing new (that item's `data`
is not checked), and a key repeated within the batch names one event, listed at each of its
positions."""

BATCH_ERROR_DESCRIPTION = (
    "Nothing was stored. `errors.type` names an unknown or archived type; `errors.events` "
    "is a list of messages for the batch as a whole (e.g. too many items), or maps the index "
    "(from 0) of each refused item to its field errors, a payload's messages under `data` "
    "as `path: message`."
)


class EventBatchIngestView(generics.GenericAPIView):
    serializer_class = EventBatchSerializer
    parser_classes = JSON_ONLY
    schema = BodyOperationSchema()
    permission_classes = [permissions.IsAuthenticated, IsStaff]
    # The same budget as EventIngestView's, shared with it.
    throttle_classes = [PublishThrottle]

    @extend_schema(
        summary="Publish a batch of events of one type (staff tokens), all-or-nothing",
        description=BATCH_DESCRIPTION,
        examples=[
            OpenApiExample(
                "Two events",
                request_only=True,
                value={
                    "type": "order-paid",
                    "events": [
                        {"data": {"id": 1}, "idempotency_key": "order-1"},
                        {"data": {"id": 2}},
                    ],
                },
            ),
        ],
        responses={
            202: OpenApiResponse(
                EventBatchAcceptedSerializer,
                description="All stored; `events` lists each one's id and delivery count, "
                "in input order.",
            ),
            400: OpenApiResponse(
                ErrorSerializer,
                description=BATCH_ERROR_DESCRIPTION,
                examples=[
                    OpenApiExample(
                        "Item 1 refused",
                        value={
                            "detail": "Item 1 of the batch (counting from 0): The payload does "
                            "not match the 'order-paid' schema at: id. Nothing was published.",
                            "code": "invalid",
                            "errors": {
                                "events": {"1": {"data": ["id: 'x' is not of type 'integer'"]}}
                            },
                        },
                    ),
                ],
            ),
        },
    )
    def post(self, request):

        items = request.data.get("events") if isinstance(request.data, dict) else None
        try:
            if isinstance(items, list):
                # Before the serializer's per-item checks, which cost as much as the list.
                check_batch_size(len(items))
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            values = serializer.validated_data
            events = publish_many(
                values["type"],
                [item["data"] for item in values["events"]],
                idempotency_keys=[item.get("idempotency_key") for item in values["events"]],
                scope=f"user:{request.user.pk}",
            )
        except PublishError as error:
            return batch_error_response(error)
        body = EventBatchAcceptedSerializer(
            {"events": [{"id": e.uid, "deliveries": e.delivery_count} for e in events]}
        )
        return Response(body.data, status=status.HTTP_202_ACCEPTED)


def batch_error_response(error) -> Response:
    """A PublishError from publish_many as the API's 400. An item's errors sit where DRF
    puts a list item's field errors, `errors.events.<index>.data`, so a malformed item and
    an item its type's schema refuses read alike; anything else is publish_error_response's."""
    indexed = [item for item in error.errors if "index" in item]
    if not indexed:
        return publish_error_response(error, data_field="events")
    by_index: dict[str, dict[str, list[str]]] = {}
    for item in indexed:
        message = f"{item['path']}: {item['message']}" if item.get("path") else item["message"]
        by_index.setdefault(str(item["index"]), {"data": []})["data"].append(message)
    return Response(
        {"detail": error.message, "code": "invalid", "errors": {"events": by_index}},
        status=status.HTTP_400_BAD_REQUEST,
    )


@extend_schema_view(
    list=extend_schema(
        summary="List deliveries, newest first",
        parameters=[DeliveryFilterSerializer],
    ),
    retrieve=extend_schema(summary="Read a delivery with its attempts"),
)
class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    pagination_class = NewestFirst
    lookup_field = "uid"
    lookup_url_kwarg = "id"

    def get_serializer_class(self):
        return DeliveryDetailSerializer if self.action == "retrieve" else DeliverySerializer

    def get_queryset(self):
        queryset = deliveries_for(self.request.user)
        if self.action != "list":
            return queryset
        # A plain dict, not the QueryDict: DRF reads an empty HTML-form value as "absent",
        # and `?status=` should be an error like any other value outside the enum.
        filters = DeliveryFilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        values = filters.validated_data
        if "status" in values:
            queryset = queryset.filter(status=values["status"])
        if "endpoint" in values:
            # Resolved to its id first, for the same reason as in deliveries_for.
            endpoint_id = (
                Endpoint.objects.filter(uid=values["endpoint"]).values_list("id", flat=True).first()
            )
            if endpoint_id is None:
                return queryset.none()
            queryset = queryset.filter(endpoint_id=endpoint_id)
        if "event_type" in values:
            queryset = queryset.filter(event__event_type__name=values["event_type"])
        return queryset

    def get_object(self):
        delivery = get_delivery_or_404(self.request.user, self.kwargs["id"])
        self.check_object_permissions(self.request, delivery)
        return delivery

    @extend_schema(
        summary="Replay a delivery",
        description="Sends the event again now, with the same `webhook-id`. Refused (409) "
        "while the delivery is still being sent or its endpoint is gone.",
        request=None,
        responses={202: DeliverySerializer, 409: ErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, id=None):  # noqa: A002

        delivery = self.get_object()
        try:
            delivery = replay(delivery, actor=request.user, request=request)
        except ReplayRefused as refused:
            return Response(
                {"detail": refused.message, "code": "replay_refused"},
                status=status.HTTP_409_CONFLICT,
            )
        delivery = get_delivery_or_404(request.user, delivery.uid)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class EndpointTestView(APIView):
    """Lives here, not in subscriptions.api: sending is the deliveries app's job, and
    `subscriptions` never imports `deliveries`."""

    parser_classes = JSON_ONLY
    schema = BodyOperationSchema()

    def get_throttles(self):
        # On top of the general limit; the dashboard's "Send test" button shares the counter.
        return [*super().get_throttles(), SendTestThrottle()]

    @extend_schema(
        summary="Send a test event to an endpoint",
        description="Delivers the event type's example (or `data`) to this endpoint only, "
        "signed like a real event, and returns the delivery to watch.",
        request=TestEventSerializer,
        responses={202: DeliverySerializer},
    )
    def post(self, request, id):  # noqa: A002

        endpoint = access.get_endpoint_or_404(request.user, id)
        serializer = TestEventSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            delivery = send_test(
                endpoint,
                serializer.validated_data["event_type"],
                actor=request.user,
                data=serializer.validated_data.get("data"),
                request=request,
            )
        except PublishError as error:
            return publish_error_response(error)
        delivery = get_delivery_or_404(request.user, delivery.uid)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


SEND_MISSED_DESCRIPTION = """Events published while the endpoint was paused or disabled by the
system are kept for it as `skipped` deliveries (for `HOOKHUB_ATTEMPT_RETENTION_DAYS`), not
sent. This makes them all (or those published from `since` on) due now: each is sent, oldest
first, with its original `webhook-id`, and retried like any delivery. Calling it again sends
nothing twice. Refused (409) unless the endpoint is enabled."""


class EndpointSendMissedView(APIView):
    """Beside EndpointTestView, for the same reason: sending is the deliveries app's job."""

    schema = BodyOperationSchema()

    @extend_schema(
        summary="Send the events an endpoint missed while paused or disabled",
        description=SEND_MISSED_DESCRIPTION,
        request=SendMissedSerializer,
        responses={200: SendMissedResultSerializer, 409: ErrorSerializer},
    )
    def post(self, request, id):  # noqa: A002

        endpoint = access.get_endpoint_or_404(request.user, id)
        serializer = SendMissedSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            sent = send_missed(
                endpoint,
                actor=request.user,
                since=serializer.validated_data.get("since"),
                request=request,
            )
        except ReplayRefused as refused:
            return Response(
                {"detail": refused.message, "code": "send_refused"},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(SendMissedResultSerializer({"sent": sent}).data)
