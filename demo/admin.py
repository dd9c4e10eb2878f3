from __future__ import annotations

from django.contrib import admin

from demo.models import DemoEndpoint, InboxRequest
from subscriptions.admin import ReadOnlyAdmin


@admin.register(InboxRequest)
class InboxRequestAdmin(ReadOnlyAdmin):
    list_display = ["inbox", "method", "received_at", "signature_valid"]
    list_filter = ["inbox", "signature_valid"]


@admin.register(DemoEndpoint)
class DemoEndpointAdmin(ReadOnlyAdmin):
    list_display = ["name", "endpoint"]
