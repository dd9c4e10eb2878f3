"""Filter forms for the delivery log and the staff failure review.

Both filter querysets the same way (`apply`), so the list, the dry-run count and the bulk
replay act on exactly the same set of deliveries.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from deliveries.models import Attempt, Delivery
from subscriptions.forms import ListFilterForm
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


def _id_field() -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=64,
        label="webhook-id or delivery id",
        widget=forms.TextInput(attrs={"placeholder": "msg_… or a delivery's UUID"}),
    )


def _filter_by_id(queryset, value: str):
    """A delivery id (UUID) finds that delivery; anything else is a `webhook-id` (Event.uid),
    which finds the event's delivery to each endpoint in the list. Both are unique indexes."""
    value = value.strip()
    if not value:
        return queryset
    try:
        return queryset.filter(uid=uuid.UUID(value))
    except ValueError:
        return queryset.filter(event__uid=value)


def _status_choices() -> list[tuple[str, str]]:
    # "Retrying" sits next to "Pending": pages show it instead of pending after a failure.
    choices = [("", "Any status")]
    for value, label in Delivery.Status.choices:
        choices.append((value, label))
        if value == Delivery.Status.PENDING:
            choices.append((Delivery.RETRYING, "Retrying"))
    return choices


class _RangeMixin(ListFilterForm):
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
    id = _id_field()
    status = forms.ChoiceField(choices=_status_choices, required=False)
    event_type = _event_type_field()

    field_order = ["id", "status", "event_type", "since", "until"]

    def apply(self, queryset):
        data = self.cleaned_data
        queryset = _filter_by_id(queryset, data.get("id", ""))
        status = data.get("status")
        # Pending and Retrying split the stored "pending" the way the rows are labelled.
        if status == Delivery.RETRYING:
            queryset = queryset.failing()
        elif status == Delivery.Status.PENDING:
            queryset = queryset.filter(status=status, attempt_count=0)
        elif status:
            queryset = queryset.filter(status=status)
        if data.get("event_type"):
            queryset = queryset.filter(event__event_type=data["event_type"])
        return self.apply_range(queryset)


class FailureFilterForm(_RangeMixin):
    FAILED = "failed"
    FAILING = "failing"

    # The page's tabs set it; empty means FAILED. Hidden, so filtering keeps the tab.
    state = forms.ChoiceField(
        choices=[
            (FAILED, "Failed (out of retries)"),
            (FAILING, "Failing now (will retry)"),
        ],
        required=False,
        widget=forms.HiddenInput,
    )
    id = _id_field()
    endpoint = forms.UUIDField(required=False, label="Endpoint id")
    owner = forms.CharField(required=False, label="Owner (username)", max_length=150)
    event_type = _event_type_field()
    error_class = forms.ChoiceField(
        choices=[("", "Any error")] + [c for c in Attempt.ErrorClass.choices if c[0]],
        required=False,
        label="Error",
    )

    field_order = [
        "state",
        "id",
        "endpoint",
        "owner",
        "event_type",
        "error_class",
        "since",
        "until",
    ]

    def clean_owner(self) -> str:
        owner = self.cleaned_data["owner"].strip()
        if owner and not get_user_model().objects.filter(username=owner).exists():
            raise forms.ValidationError(f"No user named “{owner}”.")
        return owner

    @property
    def is_failing_view(self) -> bool:
        return self.is_bound and self.is_valid() and self.cleaned_data["state"] == self.FAILING

    def apply(self, queryset):
        data = self.cleaned_data
        if data.get("state") == self.FAILING:
            queryset = queryset.failing()
        else:
            queryset = queryset.failed()
        queryset = _filter_by_id(queryset, data.get("id", ""))
        if data.get("endpoint"):
            queryset = queryset.filter(endpoint__uid=data["endpoint"])
        if data.get("owner"):
            queryset = queryset.filter(endpoint__owner__username=data["owner"])
        if data.get("event_type"):
            queryset = queryset.filter(event__event_type=data["event_type"])
        if data.get("error_class"):
            queryset = queryset.filter(last_error_class=data["error_class"])
        return self.apply_range(queryset)


class RecoverForm(forms.Form):
    """Replay one endpoint's failed deliveries published since a time (Svix's "recover"):
    the same set for the dry-run count and the job, like the staff bulk replay."""

    since = forms.DateTimeField(
        label="Failed deliveries published since (UTC)",
        widget=DATETIME_INPUT,
        input_formats=DATETIME_FORMATS,
    )

    def clean_since(self):
        since = self.cleaned_data["since"]
        if since > timezone.now():
            raise forms.ValidationError("Pick a time in the past.")
        return since

    def apply(self, queryset):
        return queryset.failed().filter(created_at__gte=self.cleaned_data["since"])

    def as_filters(self, endpoint) -> dict:
        """What ReplayJob.filters and the audit entry record."""
        return {
            "endpoint": str(endpoint.uid),
            "status": Delivery.Status.FAILED.value,
            "since": self.cleaned_data["since"].isoformat(),
        }
