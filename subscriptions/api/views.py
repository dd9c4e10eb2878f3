"""REST API for the catalogue (event types) and subscribers' endpoints.

Owner scoping goes through `subscriptions.access`, like the dashboard: another user's
endpoint is a 404 on every method, so its existence never leaks."""

from __future__ import annotations

from django.db import transaction
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings

from hookhub.api.errors import BodyOperationSchema
from hookhub.api.pagination import ByName, NewestFirst
from hookhub.api.parsers import JSON_ONLY
from hookhub.throttling import EndpointCreateThrottle
from subscriptions import access, services
from subscriptions.api.serializers import (
    EndpointSerializer,
    EndpointWithSecretSerializer,
    EventTypeSerializer,
    RotateSecretSerializer,
    SecretSerializer,
)
from subscriptions.models import EventType


class IsStaffOrReadOnly(permissions.BasePermission):
    message = "Only staff may change the event catalogue."

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or bool(request.user.is_staff)


@extend_schema_view(
    list=extend_schema(summary="List event types (the catalogue)"),
    retrieve=extend_schema(summary="Read one event type"),
    create=extend_schema(summary="Create an event type (staff)"),
    partial_update=extend_schema(summary="Change an event type (staff, admin-created only)"),
)
class EventTypeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = EventTypeSerializer
    permission_classes = [permissions.IsAuthenticated, IsStaffOrReadOnly]
    parser_classes = JSON_ONLY
    schema = BodyOperationSchema()
    pagination_class = ByName
    lookup_field = "name"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        queryset = EventType.objects.all()
        # Subscribers see the active catalogue; staff also see archived types.
        if not self.request.user.is_staff:
            queryset = queryset.filter(archived=False)
        return queryset

    def perform_create(self, serializer):
        # A ValidationError from a service is a 400 (hookhub.api.errors).
        serializer.instance = services.create_event_type(
            serializer.validated_data, actor=self.request.user, request=self.request
        )

    def perform_update(self, serializer):
        values = dict(serializer.validated_data)
        archived = values.pop("archived", None)
        event_type = serializer.instance
        with transaction.atomic():
            services.update_event_type(
                event_type, values, actor=self.request.user, request=self.request
            )
            if archived is not None:
                services.set_event_type_archived(
                    event_type, archived, actor=self.request.user, request=self.request
                )


@extend_schema_view(
    list=extend_schema(summary="List your endpoints (staff: everyone's)"),
    retrieve=extend_schema(summary="Read one endpoint"),
    create=extend_schema(
        summary="Register an endpoint",
        responses={201: EndpointWithSecretSerializer},
        description="The response includes the signing `secret`; it is shown again only "
        "after a rotation.",
    ),
    partial_update=extend_schema(summary="Change an endpoint"),
    destroy=extend_schema(summary="Delete an endpoint"),
)
class EndpointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = EndpointSerializer
    parser_classes = JSON_ONLY
    schema = BodyOperationSchema()
    pagination_class = NewestFirst
    lookup_field = "uid"
    lookup_url_kwarg = "id"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return access.endpoints_for(self.request.user).prefetch_related("event_types")

    def get_object(self):
        endpoint = access.get_endpoint_or_404(self.request.user, self.kwargs["id"])
        self.check_object_permissions(self.request, endpoint)
        return endpoint

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.action == "create":
            throttles.append(EndpointCreateThrottle())
        return throttles

    # Answers carrying the signing secret are kept by no cache (as the dashboard's pages).
    @method_decorator(never_cache)
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.create_endpoint(
            request.user, serializer.validated_data, actor=request.user, request=request
        )
        body = EndpointWithSecretSerializer(endpoint, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        services.update_endpoint(
            serializer.instance,
            serializer.validated_data,
            actor=self.request.user,
            request=self.request,
        )

    def perform_destroy(self, instance):
        services.delete_endpoint(instance, actor=self.request.user, request=self.request)

    @extend_schema(
        summary="Rotate the signing secret",
        description="Makes a new secret. The one it replaces keeps signing alongside it for "
        "`previous_expires_in` (default `HOOKHUB_SECRET_ROTATION_GRACE`, 24 h) so receivers "
        "can switch without dropping events, and so does every older secret until its own "
        "expiry. Refused (400) when `HOOKHUB_MAX_PREVIOUS_SECRETS` old secrets already sign, "
        "unless `previous_expires_in` is 0 (`now`).",
        request=RotateSecretSerializer,
        responses={200: SecretSerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="rotate-secret",
        # One scalar option, which a form post can carry as well as JSON.
        parser_classes=api_settings.DEFAULT_PARSER_CLASSES,
    )
    @method_decorator(never_cache)
    def rotate_secret(self, request, id=None):  # noqa: A002 - the URL's name for the uid
        endpoint = self.get_object()
        options = RotateSecretSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        grace = options.validated_data.get("previous_expires_in")
        secret = services.rotate_secret(endpoint, actor=request.user, request=request, grace=grace)
        return Response(
            SecretSerializer(
                {
                    "secret": secret,
                    "previous_secret_expires_at": endpoint.replaced_secret_expires_at,
                    "previous_secrets": [
                        {"expires_at": when} for when in endpoint.previous_secret_expiries()
                    ],
                }
            ).data
        )
