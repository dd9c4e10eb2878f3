"""The REST API under /api/v1/: one router for both apps (cookiecutter-django's api_router)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from deliveries.api.views import (
    DeliveryViewSet,
    EndpointSendMissedView,
    EndpointTestView,
    EventBatchIngestView,
    EventIngestView,
)
from subscriptions.api.codegen_views import EventTypeCodeView
from subscriptions.api.views import EndpointViewSet, EventTypeViewSet

app_name = "api"

router = SimpleRouter()
router.register("event-types", EventTypeViewSet, basename="event-type")
router.register("endpoints", EndpointViewSet, basename="endpoint")
router.register("deliveries", DeliveryViewSet, basename="delivery")

urlpatterns = [
    path("events/", EventIngestView.as_view(), name="event-ingest"),
    path("events/batch/", EventBatchIngestView.as_view(), name="event-batch-ingest"),
    path("endpoints/<uuid:id>/test/", EndpointTestView.as_view(), name="endpoint-test"),
    path(
        "endpoints/<uuid:id>/send-missed/",
        EndpointSendMissedView.as_view(),
        name="endpoint-send-missed",
    ),
    path("event-types/<slug:name>/code/", EventTypeCodeView.as_view(), name="event-type-code"),
    *router.urls,
]
