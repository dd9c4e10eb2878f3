"""Django admin fallback for delivery records: read-only, since events, deliveries and
attempts are history (replay from the failure review pages, which audit it)."""

from __future__ import annotations

from django.contrib import admin

from deliveries.models import (
    Attempt,
    Delivery,
    Event,
    HourlyAttempts,
    RateSlot,
    ReplayJob,
    SweepHeartbeat,
)
from subscriptions.admin import ReadOnlyAdmin


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["uid", "event_type", "created_at", "idempotency_scope", "idempotency_key"]
    list_filter = ["event_type"]
    search_fields = ["uid", "idempotency_key"]
    date_hierarchy = "created_at"


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ["number", "trigger", "started_at", "duration_ms", "response_status", "error_class"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["uid", "event", "endpoint", "status", "attempt_count", "next_attempt_at"]
    list_filter = ["status", "last_error_class"]
    search_fields = ["uid", "event__uid", "endpoint__url"]
    list_select_related = ["event", "endpoint"]
    inlines = [AttemptInline]
    # A million rows: no full COUNT(*) for the paginator on every page view.
    show_full_result_count = False


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = ["delivery", "number", "trigger", "started_at", "response_status", "error_class"]
    list_filter = ["trigger", "error_class"]
    list_select_related = ["delivery"]
    raw_id_fields = ["delivery"]
    show_full_result_count = False


@admin.register(ReplayJob)
class ReplayJobAdmin(ReadOnlyAdmin):
    list_display = ["uid", "created_by", "status", "total", "done", "skipped", "created_at"]
    list_filter = ["status"]
    exclude = ["delivery_ids"]


@admin.register(HourlyAttempts)
class HourlyAttemptsAdmin(ReadOnlyAdmin):
    """Derived from the attempts by deliveries.rollups; the row without an endpoint is the
    hour's total."""

    list_display = ["hour", "endpoint", "succeeded", "failed"]
    list_select_related = ["endpoint"]
    raw_id_fields = ["endpoint"]
    date_hierarchy = "hour"
    show_full_result_count = False


@admin.register(SweepHeartbeat)
class SweepHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["worker", "swept_at"]


@admin.register(RateSlot)
class RateSlotAdmin(ReadOnlyAdmin):
    list_display = ["endpoint", "next_at"]
    raw_id_fields = ["endpoint"]
