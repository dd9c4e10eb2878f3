"""Staff pages: the overview, failures across all subscribers, bulk replay, re-enabling."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from deliveries import actions, charts, heartbeat
from deliveries.access import deliveries_for
from deliveries.forms import FailureFilterForm
from deliveries.models import Delivery, ReplayJob
from subscriptions import access, services
from subscriptions.access import staff_required
from subscriptions.models import Endpoint
from subscriptions.paging import keyset_page


@staff_required
def overview(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    buckets = charts.hourly(now=now)
    oldest_due = (
        Delivery.objects.due(now)
        .select_related("endpoint", "event__event_type")
        .order_by("next_attempt_at")
        .first()
    )
    # One partition of the pending rows, so the figures and sentences add up: due now plus
    # waiting for a later try (a back-off, a rate-limit slot) is every pending delivery.
    pending = Delivery.objects.filter(status=Delivery.Status.PENDING)
    queue_depth = pending.count()
    due_now = Delivery.objects.due(now).count()
    next_later = (
        pending.filter(next_attempt_at__gt=now)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    disabled = Endpoint.objects.filter(state=Endpoint.State.DISABLED).select_related("owner")
    failing = Endpoint.objects.filter(
        state=Endpoint.State.ENABLED, failing_since__isnull=False
    ).select_related("owner")
    # With no worker running nothing retries, rescues or rolls up, and no page would say so.
    last_sweep = heartbeat.newest()
    swept_at = last_sweep.swept_at if last_sweep else None
    # Clamped: a worker host's clock slightly ahead of this one's is not "-1 s ago".
    sweep_age = max(0, int((now - swept_at).total_seconds())) if swept_at else None
    return render(
        request,
        "deliveries/review_overview.html",
        {
            "chart": charts.bar_chart(
                buckets, width=720, height=160, label="Attempts per hour, last 24 hours"
            ),
            "succeeded_24h": sum(b.succeeded for b in buckets),
            "failed_24h": sum(b.failed for b in buckets),
            "queue_depth": queue_depth,
            "due_now": due_now,
            "waiting_later": queue_depth - due_now,
            "next_later": next_later,
            "sending": Delivery.objects.filter(status=Delivery.Status.SENDING).count(),
            "retrying": Delivery.objects.failing().count(),
            "oldest_due": oldest_due,
            "disabled_endpoints": disabled.order_by("-disabled_at")[:100],
            "failing_endpoints": failing.order_by("failing_since")[:100],
            "warning_stages": len(settings.HOOKHUB_WARN_AFTER),
            "now": now,
            "last_sweep": last_sweep,
            "sweep_stale": heartbeat.is_stale(swept_at, now),
            "sweep_age_seconds": sweep_age,
        },
    )


def _failures(request: HttpRequest) -> tuple[FailureFilterForm, object]:
    form = FailureFilterForm(request.GET or None)
    deliveries = deliveries_for(request.user)
    if not form.is_bound:
        form = FailureFilterForm({})
    if form.is_valid():
        return form, form.apply(deliveries)
    return form, deliveries.none()


@staff_required
def failures(request: HttpRequest) -> HttpResponse:
    """Two tabs of one list: "Failed" (out of retries, replayable) and "Failing now" (the
    last attempt failed, retries left), which shows an outage while it is happening."""
    form, deliveries = _failures(request)
    page = keyset_page(deliveries, request)
    return render(
        request,
        "deliveries/review_failures.html",
        {
            "form": form,
            "page": page,
            "query": page.query,
            "failing_view": form.is_failing_view,
            "tab_query": _without(request, "state", "before"),
        },
    )


def _without(request: HttpRequest, *names: str) -> str:
    """The request's query string without `names` (a tab link keeps the other filters)."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@staff_required
def bulk_replay(request: HttpRequest) -> HttpResponse:
    """GET: the dry run, how many failed deliveries the filters match. POST: start the
    replay of exactly that set as a background job."""
    source = request.POST if request.method == "POST" else request.GET
    form = FailureFilterForm(source)
    if not form.is_valid():
        messages.error(request, "Fix the filters before replaying.")
        return render(
            request, "deliveries/review_failures.html", {"form": form, "page": None, "query": ""}
        )
    if form.is_failing_view:
        # They retry on their own, spread by jitter; replaying them all at once would hit a
        # receiver that is just recovering with every one of them in the same second.
        messages.error(request, "Bulk replay is for failed deliveries; failing ones retry.")
        query = source.copy()
        query.pop("csrfmiddlewaretoken", None)
        return redirect(f"{reverse('dashboard:review-failures')}?{query.urlencode()}")
    deliveries = form.apply(deliveries_for(request.user))
    if request.method == "POST":
        job = actions.start_bulk_replay(
            deliveries, actor=request.user, filters=form.as_filters(), request=request
        )
        messages.success(request, f"Replaying {job.total} failed deliveries in the background.")
        return redirect("dashboard:replay-job", uid=job.uid)
    query = request.GET.copy()
    return render(
        request,
        "deliveries/review_bulk_confirm.html",
        {
            "form": form,
            "count": deliveries.count(),
            "filters": form.as_filters(),
            "query": query.urlencode(),
        },
    )


@staff_required
def replay_job(request: HttpRequest, uid) -> HttpResponse:
    job = get_object_or_404(ReplayJob.objects.select_related("created_by"), uid=uid)
    return replay_job_page(request, job)


def replay_job_page(request: HttpRequest, job: ReplayJob, **extra) -> HttpResponse:
    """A replay job's progress, for staff (replay_job) and for the subscriber who started
    it (recover_views.recover_job)."""
    return render(
        request,
        "deliveries/review_replay_job.html",
        {
            "job": job,
            "running": job.is_running,
            "failed": job.is_failed,
            "percent": job.percent,
            "refresh_seconds": settings.HOOKHUB_PENDING_REFRESH,
            **extra,
        },
    )


@staff_required
@require_POST
def endpoint_enable(request: HttpRequest, uid) -> HttpResponse:
    endpoint = access.get_endpoint_or_404(request.user, uid)
    if services.enable_endpoint(endpoint, actor=request.user, request=request):
        messages.success(request, f"{endpoint.url} re-enabled. New events go to it again.")
    else:
        messages.info(request, f"{endpoint.url} is already enabled.")
    next_url = request.POST.get("next", "")
    if next_url in ("failures", "overview"):
        return redirect(f"dashboard:review-{next_url}")
    return redirect("dashboard:review-overview")
