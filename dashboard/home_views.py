"""Where "/" and a sign-in without ?next= land: staff on the overview, everyone else on
their endpoints (LOGIN_REDIRECT_URL is this view)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_staff:
        return redirect("dashboard:review-overview")
    return redirect("dashboard:endpoint-list")
