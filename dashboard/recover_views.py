"""A subscriber's "recover" (Svix's word): replay one endpoint's failed deliveries published
since a time, then watch the replay's progress.

The set comes from deliveries.forms.RecoverForm, so the dry-run count and the job act on the
same rows; the replay is deliveries.actions.start_bulk_replay, the background job staff start
from the failures page. A subscriber watches only jobs they started (deliveries.access)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dashboard.review_views import replay_job_page
from deliveries import actions
from deliveries.access import deliveries_for, get_replay_job_or_404
from deliveries.forms import RecoverForm
from subscriptions import access


@login_required
@require_http_methods(["GET", "POST"])
def recover(request: HttpRequest, uid) -> HttpResponse:
    """GET without a time: the form. GET with one: the dry run, how many failed deliveries
    would be replayed. POST: start replaying exactly that set."""
    endpoint = access.get_endpoint_or_404(request.user, uid)
    source = request.POST if request.method == "POST" else request.GET
    form = RecoverForm(source or None)
    if not form.is_bound or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        context = {"endpoint": endpoint, "form": form, "count": None}
        return render(request, "deliveries/recover.html", context, status=status)
    deliveries = form.apply(deliveries_for(request.user).filter(endpoint=endpoint))
    if request.method == "POST":
        if not endpoint.is_enabled:
            # Every replay would be refused (actions.replay), so don't start a job of skips.
            messages.error(request, "Enable the endpoint before replaying its deliveries.")
            return redirect(endpoint)
        job = actions.start_bulk_replay(
            deliveries, actor=request.user, filters=form.as_filters(endpoint), request=request
        )
        messages.success(request, f"Replaying {job.total} failed deliveries in the background.")
        return redirect("dashboard:recover-job", uid=job.uid)
    return render(
        request,
        "deliveries/recover.html",
        {"endpoint": endpoint, "form": form, "count": deliveries.count()},
    )


@login_required
def recover_job(request: HttpRequest, uid) -> HttpResponse:
    """A replay job's progress for the subscriber who started it (staff see every job)."""
    job = get_replay_job_or_404(request.user, uid)
    endpoint = (
        access.endpoints_for(request.user).filter(uid=job.filters.get("endpoint")).first()
        if job.filters.get("endpoint")
        else None
    )
    return replay_job_page(request, job, endpoint=endpoint)
