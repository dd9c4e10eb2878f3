"""The Django admin as a fallback. Rows whose edits would break invariants (the audit log,
code-declared event types, secrets) are read-only here; the dashboard pages are the way to
change things, because they validate and audit."""

from __future__ import annotations

from django.contrib import admin

from subscriptions.models import ApiToken, AuditEntry, Endpoint, EventType


class ReadOnlyAdmin(admin.ModelAdmin):
    """View only: no add, no change. Subclasses decide about delete."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "method", "source", "version", "archived", "updated_at"]
    list_filter = ["source", "archived", "method"]
    search_fields = ["name", "description"]
    readonly_fields = ["source", "version", "created_at", "updated_at"]

    def has_change_permission(self, request, obj=None) -> bool:
        # Code-declared types are re-synced from code; an edit here would be overwritten.
        if obj is not None and obj.source == EventType.Source.CODE:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Events reference their type (PROTECT); archive instead.
        return False


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "owner", "state", "all_event_types", "created_at"]
    list_filter = ["state", "all_event_types"]
    search_fields = ["url", "owner__username", "uid"]
    raw_id_fields = ["owner"]
    filter_horizontal = ["event_types"]
    # The secret is never shown or edited here: reveal and rotate on the dashboard (audited).
    exclude = ["secret_encrypted", "previous_secret_encrypted"]
    readonly_fields = [
        "uid",
        "previous_secret_expires_at",
        "disabled_at",
        "failing_since",
        "created_at",
        "updated_at",
    ]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["key_prefix", "user", "name", "created_at", "last_used_at"]
    search_fields = ["user__username", "name", "key_prefix"]
    exclude = ["key_hash"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "action", "object_type", "object_label"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "action", "object_id", "object_label"]
    date_hierarchy = "created_at"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # append-only
