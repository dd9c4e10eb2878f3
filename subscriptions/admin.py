"""The Django admin as a fallback. Rows whose edits would break invariants (the audit log,
code-declared event types, secrets) are read-only here; endpoint and event-type changes go
through subscriptions.services, so they are validated and audited as on the dashboard."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from subscriptions import headers as headers_rules
from subscriptions import services
from subscriptions.forms import EndpointURLField, EventTypeForm
from subscriptions.models import ApiToken, AuditEntry, Endpoint, EventType


class ReadOnlyAdmin(admin.ModelAdmin):
    """View only: no add, no change. Subclasses decide about delete."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    """Saves go through subscriptions.services, as on the dashboard: one audit entry, the
    version bump, the default schema. Archiving is the list's action, not a checkbox."""

    form = EventTypeForm
    list_display = ["name", "method", "source", "version", "archived", "updated_at"]
    list_filter = ["source", "archived", "method"]
    search_fields = ["name", "description"]
    readonly_fields = ["source", "version", "archived", "created_at", "updated_at"]
    actions = ["archive", "restore"]

    def has_change_permission(self, request, obj=None) -> bool:
        # Code-declared types are re-synced from code; an edit here would be overwritten.
        if obj is not None and obj.is_code_declared:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Events reference their type (PROTECT); archive instead.
        return False

    def save_model(self, request, obj, form, change) -> None:
        values = form.event_type_values()
        if change:
            services.update_event_type(obj, values, actor=request.user, request=request)
        else:
            created = services.create_event_type(values, actor=request.user, request=request)
            obj.pk, obj._state.adding = created.pk, False

    @admin.action(description="Archive the selected (staff-defined) event types")
    def archive(self, request, queryset) -> None:
        self._set_archived(request, queryset, True)

    @admin.action(description="Restore the selected event types")
    def restore(self, request, queryset) -> None:
        self._set_archived(request, queryset, False)

    def _set_archived(self, request, queryset, archived: bool) -> None:
        for event_type in queryset.filter(source=EventType.Source.ADMIN):
            services.set_event_type_archived(
                event_type, archived, actor=request.user, request=request
            )


class EndpointAdminForm(forms.ModelForm):
    """The model's validators (address guard, header rules) run as in any ModelForm; the
    state may be enabled or paused, as anywhere a person changes it.

    Custom header values are secrets: the form shows them masked (headers.is_secret) and a
    masked value saved unchanged keeps the stored one, so staff replace a value by typing a
    new one and never read it here (the owner's dashboard reveals it, audited)."""

    url = EndpointURLField(max_length=2000, assume_scheme="https")
    headers = forms.JSONField(
        required=False,
        help_text=f"{{name: value}}. Secret values show as {headers_rules.MASK}; leave them so "
        "to keep the stored value, or type a new one to replace it.",
    )
    secret_header_names = forms.CharField(
        required=False,
        help_text="More header names whose values are secret, separated by commas.",
    )

    class Meta:
        model = Endpoint
        fields = [
            "owner",
            "url",
            "description",
            "all_event_types",
            "event_types",
            "headers",
            "secret_header_names",
            "rate_limit",
            "retry_for",
            "state",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["headers"] = self.instance.masked_headers
            self.initial["secret_header_names"] = ", ".join(self.instance.secret_header_names)

    def clean_headers(self) -> dict:
        headers = self.cleaned_data["headers"] or {}
        if isinstance(headers, dict):
            headers = headers_rules.keep_masked(headers, self.instance.headers)
        headers_rules.validate_headers(headers)
        return headers

    def clean_secret_header_names(self) -> list[str]:
        names = headers_rules.split_names(self.cleaned_data["secret_header_names"])
        return headers_rules.clean_secret_names(names)

    def clean_state(self) -> str:
        state = self.cleaned_data["state"]
        if state != self.instance.state:
            services.check_requested_state(state)
        return state

    def clean(self) -> dict:
        data = super().clean()
        if self.instance.pk is None and data.get("owner") is not None:
            try:
                services.check_endpoint_quota(data["owner"])  # create_endpoint checks it again
            except ValidationError as error:
                self.add_error(None, error)
        return data


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    """Saves and deletes go through subscriptions.services (validated, audited). The secret
    is never shown or edited here: reveal and rotate on the dashboard (audited)."""

    form = EndpointAdminForm
    list_display = ["url", "owner", "state", "all_event_types", "created_at"]
    list_filter = ["state", "all_event_types"]
    search_fields = ["url", "owner__username", "uid"]
    raw_id_fields = ["owner"]
    filter_horizontal = ["event_types"]
    readonly_fields = [
        "uid",
        "disabled_reason",
        "previous_secrets_signing",
        "disabled_at",
        "failing_since",
        "created_at",
        "updated_at",
    ]

    def get_fields(self, request, obj=None) -> list:
        fields = list(super().get_fields(request, obj))
        if obj is not None and not self.has_change_permission(request, obj):
            # A view-only page shows each field's attribute, and `headers` is the clear one.
            fields = ["masked_headers" if name == "headers" else name for name in fields]
        return fields

    @admin.display(description="Previous secrets signing until")
    def previous_secrets_signing(self, obj: Endpoint) -> str:
        # Only the expiries: the secrets themselves are never shown here.
        expiries = obj.previous_secret_expiries() if obj.pk else []
        return ", ".join(f"{when:%Y-%m-%d %H:%M} UTC" for when in expiries) or "none"

    def save_model(self, request, obj, form, change) -> None:
        # The many-to-many field is saved here, with the row, rather than by save_related.
        values = {name: form.cleaned_data[name] for name in services.ENDPOINT_FIELDS}
        values["event_types"] = list(form.cleaned_data["event_types"])
        if change:
            values["state"] = form.cleaned_data["state"]
            services.update_endpoint(obj, values, actor=request.user, request=request)
        else:
            owner = form.cleaned_data["owner"]
            created = services.create_endpoint(owner, values, actor=request.user, request=request)
            if form.cleaned_data["state"] != created.state:
                services.update_endpoint(
                    created, {"state": form.cleaned_data["state"]}, actor=request.user
                )
            obj.pk, obj._state.adding = created.pk, False

    def save_related(self, request, form, formsets, change) -> None:
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj) -> None:
        services.delete_endpoint(obj, actor=request.user, request=request)

    def delete_queryset(self, request, queryset) -> None:
        for endpoint in queryset:
            services.delete_endpoint(endpoint, actor=request.user, request=request)


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
