from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from subscriptions import access


@login_required
def endpoint_list(request: HttpRequest) -> HttpResponse:
    endpoints = access.endpoints_for(request.user).prefetch_related("event_types")
    return render(request, "subscriptions/endpoint_list.html", {"endpoints": endpoints})
