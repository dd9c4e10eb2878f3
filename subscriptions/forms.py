"""Forms for the subscriber dashboard and the staff event-type editor."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError

from subscriptions.headers import check_header_count, header_problem
from subscriptions.models import Endpoint, EventType
from subscriptions.schemas import check_event_example, check_event_schema, default_schema


class EventTypeChoiceField(forms.ModelMultipleChoiceField):
    """Checkboxes labelled with the type's name and the first line of its description."""

    def label_from_instance(self, obj: EventType) -> str:
        return f"{obj.name} — {obj.summary}" if obj.summary else obj.name


def parse_headers(text: str) -> dict[str, str]:
    """`Name: value` lines into a dict; raises ValidationError naming the bad line."""
    headers: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        name, sep, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise ValidationError(f"Line {number}: write headers as “Name: value”.")
        problem = header_problem(name, value)
        if problem:
            raise ValidationError(f"Line {number}: {problem}")
        headers[name] = value
    check_header_count(headers)
    return headers


def format_headers(headers: dict) -> str:
    return "\n".join(f"{name}: {value}" for name, value in (headers or {}).items())


class EndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="Endpoint URL",
        max_length=2000,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks"}),
    )
    event_types = EventTypeChoiceField(
        queryset=EventType.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The events this endpoint receives.",
    )
    headers_text = forms.CharField(
        label="Custom headers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Authorization: Bearer abc123"}),
        help_text="Sent with every request, one per line as “Name: value”.",
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "all_event_types", "event_types"]
        labels = {"all_event_types": "All event types"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Archived types can't be newly chosen, but one already chosen stays visible.
        visible = EventType.objects.filter(archived=False)
        if self.instance.pk:
            visible = visible | EventType.objects.filter(endpoints=self.instance)
        self.fields["event_types"].queryset = visible.distinct().order_by("name")
        if self.instance.pk and not self.is_bound:
            self.initial["headers_text"] = format_headers(self.instance.headers)

    def clean_headers_text(self) -> str:
        self.cleaned_headers = parse_headers(self.cleaned_data.get("headers_text", ""))
        return self.cleaned_data.get("headers_text", "")

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("all_event_types") and not data.get("event_types"):
            self.add_error("event_types", "Choose at least one event type, or “All event types”.")
        return data

    def endpoint_values(self) -> dict:
        """What subscriptions.services.create_endpoint / update_endpoint take."""
        data = self.cleaned_data
        return {
            "url": data["url"],
            "description": data["description"],
            "all_event_types": data["all_event_types"],
            "event_types": list(data["event_types"]),
            "headers": self.cleaned_headers,
        }


class SendTestForm(forms.Form):
    event_type = forms.ModelChoiceField(
        queryset=EventType.objects.filter(archived=False).order_by("name"),
        to_field_name="name",
        empty_label=None,
        help_text="HookHub sends the type's example payload, signed like a real event.",
    )


class JSONTextField(forms.CharField):
    """A textarea holding JSON; cleans to the parsed value with the parser's message."""

    widget = forms.Textarea(attrs={"rows": 12, "spellcheck": "false"})

    def __init__(self, *, empty_value=None, **kwargs) -> None:
        self.json_empty = empty_value
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, str):
            return value
        if value is None:
            return ""
        return json.dumps(value, indent=2, sort_keys=False)

    def clean(self, value):
        text = super().clean(value)
        if not text.strip():
            return self.json_empty
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from None


class EventTypeForm(forms.ModelForm):
    """The staff editor. The schema is checked as a Draft 2020-12 JSON Schema and the example
    against it before anything is saved, so a broken schema never reaches the document."""

    schema = JSONTextField(
        label="JSON Schema of data",
        required=False,
        empty_value={},
        help_text="Draft 2020-12. Describes the event's data object.",
    )
    example = JSONTextField(label="Example data", required=False, empty_value=None)

    class Meta:
        model = EventType
        fields = ["name", "description", "method", "schema", "example"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The name is the event's public identity (the `type` receivers switch on).
            self.fields["name"].disabled = True

    def clean_schema(self):
        schema = self.cleaned_data["schema"]
        check_event_schema(schema)
        return schema

    def clean(self) -> dict:
        data = super().clean()
        schema, example = data.get("schema"), data.get("example")
        if schema is not None and "schema" not in self.errors:
            try:
                check_event_example(schema or default_schema(), example)
            except ValidationError as error:
                self.add_error("example", error)
        return data

    def event_type_values(self) -> dict:
        """What subscriptions.services.create_event_type / update_event_type take."""
        return {
            name: self.cleaned_data[name] for name in self._meta.fields if name in self.cleaned_data
        }


class AuditFilterForm(forms.Form):
    """The audit log's filters: the action by prefix ("endpoint." finds every endpoint
    change), the actor and the object exactly. Lengths are the columns' own, so a longer
    value is reported as an error instead of quietly matching nothing."""

    action = forms.CharField(
        required=False,
        max_length=60,
        label="Action",
        widget=forms.TextInput(attrs={"placeholder": "endpoint."}),
    )
    actor = forms.CharField(
        required=False,
        max_length=150,
        label="Actor",
        widget=forms.TextInput(attrs={"placeholder": "username or system"}),
    )
    object = forms.CharField(required=False, max_length=64, label="Object id")

    def apply(self, queryset):
        data = self.cleaned_data
        if data.get("action"):
            queryset = queryset.filter(action__startswith=data["action"])
        if data.get("actor"):
            queryset = queryset.filter(actor_label=data["actor"])
        if data.get("object"):
            queryset = queryset.filter(object_id=data["object"])
        return queryset
