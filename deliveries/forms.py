"""Filter forms for the delivery log and the staff failure review.

Both filter querysets the same way (`apply`), so the list, the dry-run count and the bulk
replay act on exactly the same set of deliveries.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from deliveries.models import Attempt, Delivery
from subscriptions.models import EventType

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


def _event_type_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=EventType.objects.order_by("name"),
        to_field_name="name",
        required=False,
        empty_label="Any type",
        label="Event type",
    )


class _RangeMixin(forms.Form):
    since = forms.DateTimeField(
        required=False, label="From (UTC)", widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )
    until = forms.DateTimeField(
        required=False, label="To (UTC)", widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "“To” must be after “From”.")
        return data

    def apply_range(self, queryset):
        data = self.cleaned_data
        if data.get("since"):
            queryset = queryset.filter(created_at__gte=data["since"])
        if data.get("until"):
            queryset = queryset.filter(created_at__lte=data["until"])
        return queryset

    def as_filters(self) -> dict:
        """The applied filters as plain strings (for the audit log and ReplayJob.filters)."""
        out = {}
        for name, value in self.cleaned_data.items():
            if value in (None, ""):
                continue
            out[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return out


class DeliveryFilterForm(_RangeMixin):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Delivery.Status.choices], required=False
    )
    event_type = _event_type_field()

    field_order = ["status", "event_type", "since", "until"]

    def apply(self, queryset):
        data = self.cleaned_data
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("event_type"):
            queryset = queryset.filter(event__event_type=data["event_type"])
        return self.apply_range(queryset)


class FailureFilterForm(_RangeMixin):
    endpoint = forms.UUIDField(required=False, label="Endpoint id")
    owner = forms.CharField(required=False, label="Owner (username)", max_length=150)
    event_type = _event_type_field()
    error_class = forms.ChoiceField(
        choices=[("", "Any error")] + [c for c in Attempt.ErrorClass.choices if c[0]],
        required=False,
        label="Error",
    )

    field_order = ["endpoint", "owner", "event_type", "error_class", "since", "until"]

    def clean_owner(self) -> str:
        owner = self.cleaned_data["owner"].strip()
        if owner and not get_user_model().objects.filter(username=owner).exists():
            raise forms.ValidationError(f"No user named “{owner}”.")
        return owner

    def apply(self, queryset):
        data = self.cleaned_data
        queryset = queryset.failed()
        if data.get("endpoint"):
            queryset = queryset.filter(endpoint__uid=data["endpoint"])
        if data.get("owner"):
            queryset = queryset.filter(endpoint__owner__username=data["owner"])
        if data.get("event_type"):
            queryset = queryset.filter(event__event_type=data["event_type"])
        if data.get("error_class"):
            queryset = queryset.filter(last_error_class=data["error_class"])
        return self.apply_range(queryset)
