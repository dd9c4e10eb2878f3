"""Staff pages for the event-type catalogue editor and the audit log, and the typed
receiver code every signed-in user can copy for each event type."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from subscriptions import codegen, services
from subscriptions.access import staff_required
from subscriptions.forms import AuditFilterForm, EventTypeForm
from subscriptions.models import AuditEntry, Endpoint, EventType
from subscriptions.paging import keyset_page

# The files a code page offers, by download name: which part of the generated code each is.
CODE_FILES = {
    codegen.PYTHON_MODELS_FILE: lambda code: code.python.code,
    codegen.PYTHON_RECEIVER_FILE: lambda code: code.python_receiver,
    codegen.TYPESCRIPT_TYPES_FILE: lambda code: code.typescript.code,
    codegen.TYPESCRIPT_RECEIVER_FILE: lambda code: code.typescript_receiver,
}


@staff_required
def event_type_list(request: HttpRequest) -> HttpResponse:
    event_types = EventType.objects.order_by("archived", "name")
    return render(request, "subscriptions/event_type_list.html", {"event_types": event_types})


@staff_required
def event_type_create(request: HttpRequest) -> HttpResponse:
    form = EventTypeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        event_type = services.create_event_type(
            form.event_type_values(), actor=request.user, request=request
        )
        messages.success(request, f"Event type {event_type.name} created.")
        return redirect("dashboard:event-type-list")
    return render(request, "subscriptions/event_type_form.html", {"form": form, "event_type": None})


@staff_required
def event_type_edit(request: HttpRequest, name: str) -> HttpResponse:
    event_type = get_object_or_404(EventType, name=name)
    if event_type.is_code_declared:
        # Declared in code: the code is the truth, so the page only shows it.
        return render(request, "subscriptions/event_type_code.html", {"event_type": event_type})
    form = EventTypeForm(request.POST or None, instance=event_type)
    if request.method == "POST" and form.is_valid():
        services.update_event_type(
            event_type, form.event_type_values(), actor=request.user, request=request
        )
        messages.success(request, f"Event type {event_type.name} saved.")
        return redirect("dashboard:event-type-list")
    return render(
        request, "subscriptions/event_type_form.html", {"form": form, "event_type": event_type}
    )


@staff_required
@require_http_methods(["GET", "POST"])
def event_type_archive(request: HttpRequest, name: str) -> HttpResponse:
    """GET: ask before archiving, saying how many endpoints subscribe. POST: archive or
    restore an admin-defined type; `archived` ("1"/"0") says which, so a second click on a
    stale page can't undo the first. Without it the POST toggles (older forms, scripts)."""
    event_type = get_object_or_404(EventType, name=name)
    if request.method == "GET":
        # A code-declared type gets the same page, saying where to retire it instead.
        return render(
            request,
            "subscriptions/event_type_confirm_archive.html",
            {"event_type": event_type, **_subscribers(event_type)},
        )
    wanted = request.POST.get("archived")
    archived = wanted == "1" if wanted in ("0", "1") else not event_type.archived
    try:
        services.set_event_type_archived(event_type, archived, actor=request.user, request=request)
    except ValidationError:
        messages.error(request, f"{name} is declared in code; remove it there to retire it.")
        return redirect("dashboard:event-type-list")
    verb = "archived" if event_type.archived else "restored"
    messages.success(request, f"Event type {name} {verb}.")
    return redirect("dashboard:event-type-list")


def _subscribers(event_type: EventType) -> dict[str, int]:
    """Endpoints, in any state, that receive `event_type`: by name or through "all types"."""
    by_name = event_type.endpoints.count()
    through_all = Endpoint.objects.filter(all_event_types=True).exclude(event_types=event_type)
    through_all_count = through_all.count()
    return {
        "subscriber_count": by_name + through_all_count,
        "by_name_count": by_name,
        "through_all_count": through_all_count,
        "enabled_count": Endpoint.objects.subscribed_to(event_type).count(),
    }


@staff_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """Newest first, keyset-paginated on id (the table only grows)."""
    form = AuditFilterForm(request.GET or None)
    entries = form.filter(AuditEntry.objects.select_related("actor"))
    page = keyset_page(entries, request)
    return render(
        request,
        "subscriptions/audit_log.html",
        {
            "form": form,
            "page": page,
            "entries": page.rows,
            "next_before": page.next_before,
            "query": page.query,
        },
    )


@login_required
@require_safe
def webhook_code(request: HttpRequest, name: str) -> HttpResponse:
    """Pydantic models and TypeScript types of one event type's body, generated from the
    served OpenAPI document, and receivers in Python and Node that use them.
    `?download=<file name>` answers with one of them as a file (`curl -O` friendly)."""
    code = codegen.receiver_code(request, name)
    if code is None:
        raise Http404("No such event type.")
    if "download" in request.GET:
        return _download(code, request.GET["download"])
    return render(
        request,
        "subscriptions/webhook_code.html",
        {
            "code": code,
            "python_models_file": codegen.PYTHON_MODELS_FILE,
            "python_receiver_file": codegen.PYTHON_RECEIVER_FILE,
            "typescript_types_file": codegen.TYPESCRIPT_TYPES_FILE,
            "typescript_receiver_file": codegen.TYPESCRIPT_RECEIVER_FILE,
        },
    )


@login_required
@require_safe
def catalogue_code_file(request: HttpRequest, filename: str) -> HttpResponse:
    """The models or the types of every event type in one file, for a receiver of all of
    them (an endpoint can subscribe to every type)."""
    made = codegen.catalogue_code(request)
    generated = {
        codegen.PYTHON_MODELS_FILE: made.python,
        codegen.TYPESCRIPT_TYPES_FILE: made.typescript,
    }[filename]
    return _file(generated.code, filename, generated.problem)


def _download(code: codegen.ReceiverCode, filename: str) -> HttpResponse:
    part = CODE_FILES.get(filename)
    if part is None:
        raise Http404("No such file.")
    problem = code.typescript.problem if filename == codegen.TYPESCRIPT_TYPES_FILE else ""
    return _file(part(code), filename, problem or code.python.problem)


def _file(text: str, filename: str, problem: str) -> HttpResponse:
    if not text:
        # Said in words, not an error page: e.g. a server without Node.js has no types.
        return HttpResponse(problem, status=404, content_type="text/plain; charset=utf-8")
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
