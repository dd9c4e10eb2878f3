"""Staff pages owned by `subscriptions`: the event-type catalogue editor and the audit log."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from subscriptions import audit
from subscriptions.access import staff_required
from subscriptions.forms import EventTypeForm
from subscriptions.models import AuditEntry, EventType
from subscriptions.paging import keyset_page


@staff_required
def event_type_list(request: HttpRequest) -> HttpResponse:
    event_types = EventType.objects.order_by("archived", "name")
    return render(request, "subscriptions/event_type_list.html", {"event_types": event_types})


@staff_required
def event_type_create(request: HttpRequest) -> HttpResponse:
    form = EventTypeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.instance.source = EventType.Source.ADMIN
            event_type = form.save()
            audit.record(request.user, "event_type.created", event_type, request=request)
        messages.success(request, f"Event type {event_type.name} created.")
        return redirect("subscriptions:event-type-list")
    return render(request, "subscriptions/event_type_form.html", {"form": form, "event_type": None})


@staff_required
def event_type_edit(request: HttpRequest, name: str) -> HttpResponse:
    event_type = get_object_or_404(EventType, name=name)
    if event_type.source == EventType.Source.CODE:
        # Declared in code: the code is the truth, so the page only shows it.
        return render(request, "subscriptions/event_type_code.html", {"event_type": event_type})
    form = EventTypeForm(request.POST or None, instance=event_type)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            if form.has_changed():
                event_type.version += 1
            form.save()
            audit.record(
                request.user,
                "event_type.updated",
                event_type,
                request=request,
                changed=sorted(form.changed_data),
            )
        messages.success(request, f"Event type {event_type.name} saved.")
        return redirect("subscriptions:event-type-list")
    return render(
        request, "subscriptions/event_type_form.html", {"form": form, "event_type": event_type}
    )


@staff_required
@require_POST
def event_type_archive(request: HttpRequest, name: str) -> HttpResponse:
    """Archive or restore an admin-defined type. Archived types leave the catalogue and the
    OpenAPI document; events already sent keep their type."""
    event_type = get_object_or_404(EventType, name=name)
    if event_type.source == EventType.Source.CODE:
        messages.error(request, f"{name} is declared in code; remove it there to retire it.")
        return redirect("subscriptions:event-type-list")
    with transaction.atomic():
        event_type.archived = not event_type.archived
        event_type.save(update_fields=["archived", "updated_at"])
        action = "event_type.archived" if event_type.archived else "event_type.restored"
        audit.record(request.user, action, event_type, request=request)
    verb = "archived" if event_type.archived else "restored"
    messages.success(request, f"Event type {name} {verb}.")
    return redirect("subscriptions:event-type-list")


@staff_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """Newest first, keyset-paginated on id (the table only grows)."""
    entries = AuditEntry.objects.select_related("actor")
    action = request.GET.get("action", "").strip()
    actor = request.GET.get("actor", "").strip()
    object_id = request.GET.get("object", "").strip()
    if action:
        entries = entries.filter(action__startswith=action)
    if actor:
        entries = entries.filter(actor_label=actor)
    if object_id:
        entries = entries.filter(object_id=object_id)
    page = keyset_page(entries, request)
    return render(
        request,
        "subscriptions/audit_log.html",
        {
            "entries": page.rows,
            "next_before": page.next_before,
            "filters": {"action": action, "actor": actor, "object": object_id},
            "query": page.query,
        },
    )
