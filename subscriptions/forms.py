"""Forms for the subscriber dashboard and the staff event-type editor."""

from __future__ import annotations

import json
from datetime import timedelta

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from subscriptions.headers import (
    MASK,
    check_header_count,
    clean_secret_names,
    header_problem,
    keep_masked,
    masked,
    split_names,
)
from subscriptions.models import SECRET_EXPIRY_CHOICES, Endpoint, EventType
from subscriptions.retries import retry_for_choices
from subscriptions.schemas import check_event_example, check_event_schema, default_schema


class EventTypeChoiceField(forms.ModelMultipleChoiceField):
    """Checkboxes labelled with the type's name and the first line of its description."""

    def label_from_instance(self, obj: EventType) -> str:
        return f"{obj.name} — {obj.summary}" if obj.summary else obj.name


PADDING = " \t\r"


def parse_headers(text: str) -> dict[str, str]:
    """`Name: value` lines into a dict; raises ValidationError naming the bad line."""
    headers: dict[str, str] = {}
    # Lines end at LF only, and only spaces, tabs and CR are trimmed: str.splitlines() and
    # strip() would also cut at (or drop) controls such as \x0b, \x85 or U+2028, hiding
    # them from the value rule instead of naming them.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip(PADDING)
        if not line:
            continue
        name, sep, value = line.partition(":")
        name, value = name.strip(PADDING), value.strip(PADDING)
        if not sep or not name:
            raise ValidationError(f"Line {number}: write headers as “Name: value”.")
        # A masked value stands for the stored one (keep_masked), checked when it was saved.
        problem = header_problem(name, "" if value == MASK else value)
        if problem:
            raise ValidationError(f"Line {number}: {problem}")
        headers[name] = value
    check_header_count(headers)
    return headers


def format_headers(headers: dict) -> str:
    return "\n".join(f"{name}: {value}" for name, value in (headers or {}).items())


class EndpointURLField(forms.URLField):
    """A URL of at most Endpoint.url's length, refused with one message when longer.

    No `maxlength` on the input: a browser silently cuts a longer paste there, and the cut
    URL may still look valid. And the length is checked before the URL validator, which
    would also say "Enter a valid URL." past its own limit of 2,048 characters."""

    def widget_attrs(self, widget) -> dict:
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs

    def run_validators(self, value) -> None:
        if self.max_length is not None and len(value) > self.max_length:
            raise ValidationError(
                f"This URL is {len(value):,} characters long; HookHub accepts up to "
                f"{self.max_length:,}.",
                code="max_length",
            )
        super().run_validators(value)


class EndpointForm(forms.ModelForm):
    url = EndpointURLField(
        label="Endpoint URL",
        max_length=Endpoint._meta.get_field("url").max_length,
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
        help_text="Sent with every request, one per line as “Name: value”. Secret values "
        "show as •••••••• here; leave them so to keep the stored value.",
    )
    secret_headers_text = forms.CharField(
        label="Secret headers",
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "X-Signing-Token, X-Tenant-Pass"}),
        help_text="Names whose values are masked on these pages, in the API and in the "
        "delivery log. Authorization, Proxy-Authorization, Cookie and names ending in -token, "
        "-key, -secret or -password always are.",
    )

    retry_for = forms.TypedChoiceField(
        label="Keep retrying for",
        required=False,
        coerce=int,
        empty_value=None,
        help_text="How long HookHub retries a delivery your endpoint did not accept. Test "
        "events are never retried.",
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "all_event_types", "event_types"]
        labels = {"all_event_types": "All event types"}

    def __init__(self, *args, owner=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Given the owner, a URL they already have an endpoint at is refused (each event
        # would go there twice, usually by mistake) until "add it anyway" is ticked; the
        # page shows that box only when `duplicate` is set.
        self.owner, self.duplicate = owner, None
        if owner is not None:
            verb = "Save" if self.instance.pk else "Add"
            self.fields["add_anyway"] = forms.BooleanField(
                required=False, label=f"{verb} it anyway"
            )
        # Archived types can't be newly chosen, but one already chosen stays visible.
        visible = EventType.objects.filter(archived=False)
        if not getattr(owner, "is_staff", False):
            visible = visible.filter(operational=False)  # services.check_event_types
        if self.instance.pk:
            visible = visible | EventType.objects.filter(endpoints=self.instance)
        self.fields["event_types"].queryset = visible.distinct().order_by("name")
        self.fields["retry_for"].choices = retry_for_choices(self.instance.retry_for)
        if self.instance.pk and not self.is_bound:
            self.initial["retry_for"] = self.instance.retry_for
        if self.instance.pk and not self.is_bound:
            # Secret values never reach the page: they show masked, and a masked value
            # posted back keeps the stored one (clean_headers_text).
            marked = self.instance.secret_header_names
            self.initial["headers_text"] = format_headers(masked(self.instance.headers, marked))
            shown = self.instance.secret_headers
            shown += [name for name in marked if name.lower() not in {n.lower() for n in shown}]
            self.initial["secret_headers_text"] = ", ".join(shown)

    def clean_headers_text(self) -> str:
        parsed = parse_headers(self.cleaned_data.get("headers_text", ""))
        # A new endpoint has no stored headers: a masked value there is an error.
        self.cleaned_headers = keep_masked(parsed, self.instance.headers)
        return self.cleaned_data.get("headers_text", "")

    def clean_secret_headers_text(self) -> list[str]:
        return clean_secret_names(split_names(self.cleaned_data.get("secret_headers_text", "")))

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("all_event_types") and not data.get("event_types"):
            self.add_error("event_types", "Choose at least one event type, or “All event types”.")
        url = data.get("url")
        if self.owner is not None and url and "url" in self.changed_data:
            same = Endpoint.objects.filter(owner=self.owner, url=url).exclude(pk=self.instance.pk)
            self.duplicate = same.order_by("id").first()
            if self.duplicate and not data.get("add_anyway"):
                label = self.fields["add_anyway"].label
                self.add_error(
                    "url",
                    ValidationError(
                        f"You already have an endpoint at this URL, so every event would be "
                        f"sent there twice. Tick “{label}” to have both.",
                        code="duplicate_url",
                    ),
                )
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
            "secret_header_names": data["secret_headers_text"],
            "retry_for": data["retry_for"],
        }


class SendTestForm(forms.Form):
    event_type = forms.ModelChoiceField(
        queryset=EventType.objects.filter(archived=False).order_by("name"),
        to_field_name="name",
        empty_label=None,
        help_text="HookHub sends the type's example payload, signed like a real event.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Added here because JSONTextField is defined below. Empty sends the type's example
        # (a page script fills the example in, but the form must work without it); the
        # caller checks the data against the type's schema.
        self.fields["payload"] = JSONTextField(
            label="Payload (data)",
            required=False,
            empty_value=None,
            widget=forms.Textarea(
                attrs={
                    "rows": 8,
                    "spellcheck": "false",
                    "placeholder": "Leave empty to send the type's example.",
                }
            ),
            help_text="Optional JSON for the event's data, checked against the type's schema.",
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


class ListFilterForm(forms.Form):
    """A list page's filters. `filter(queryset)` is the one rule for every list: no filters
    given, every row; valid filters, the rows they match (`apply`); invalid ones, no rows
    (the form shows why) rather than rows that look filtered but are not."""

    def apply(self, queryset):  # pragma: no cover - each filter form says what it matches
        raise NotImplementedError

    def filter(self, queryset):
        if not self.is_bound:
            return queryset
        return self.apply(queryset) if self.is_valid() else queryset.none()


class AuditFilterForm(ListFilterForm):
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


class RotateSecretForm(forms.Form):
    """The rotation page's one question: when the current secret stops signing once it is
    replaced (Stripe's "roll secret" choices, up to HOOKHUB_SECRET_ROTATION_MAX_GRACE). A
    post without it (a script) gets HOOKHUB_SECRET_ROTATION_GRACE, as the API does."""

    previous_expires = forms.ChoiceField(
        label="The current secret stops signing",
        required=False,
        widget=forms.RadioSelect,
        help_text="Until then requests carry a signature with each secret, so your receiver "
        "can switch to the new one without rejecting any.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        longest = settings.HOOKHUB_SECRET_ROTATION_MAX_GRACE
        offered = {
            name: (seconds, label)
            for name, (seconds, label) in SECRET_EXPIRY_CHOICES.items()
            if seconds <= longest
        }
        field = self.fields["previous_expires"]
        field.choices = [(name, label) for name, (_, label) in offered.items()]
        default = settings.HOOKHUB_SECRET_ROTATION_GRACE
        matching = [name for name, (seconds, _) in offered.items() if seconds == default]
        field.initial = matching[0] if matching else "24h"
        self.offered = offered

    def grace(self) -> timedelta | None:
        """The chosen grace period; None for the default."""
        name = self.cleaned_data.get("previous_expires")
        return timedelta(seconds=self.offered[name][0]) if name else None
