"""The OpenAPI document view, cached until the event catalogue changes.

Generating the document walks every API view and every event type, and rendering 500
webhooks as YAML takes longer than generating them; the result only changes when code
changes (a restart) or an EventType row changes. So the rendered bytes are kept per
catalogue fingerprint and format. The cache is per process, which is right for several
processes: each one notices the same database change on its next request."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict

from django.contrib.staticfiles import finders
from django.db import DatabaseError
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_GET
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from subscriptions.openapi import catalogue_fingerprint

_MAX_ENTRIES = 16
_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()


def clear_cache() -> None:
    with _lock:
        _cache.clear()


class CachedSpectacularAPIView(SpectacularAPIView):
    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        renderer = request.accepted_renderer
        media_type = request.accepted_media_type
        try:
            fingerprint = catalogue_fingerprint()
        except DatabaseError:
            fingerprint = None
        key = (fingerprint, version, translation.get_language(), self.serve_public, media_type)
        with _lock:
            content = _cache.get(key) if fingerprint is not None else None
        if content is None:
            generator = self.generator_class(
                urlconf=self.urlconf, api_version=version, patterns=self.patterns
            )
            document = generator.get_schema(request=request, public=self.serve_public)
            content = renderer.render(document, media_type, self.get_renderer_context())
            if fingerprint is not None:
                with _lock:
                    _cache[key] = content
                    while len(_cache) > _MAX_ENTRIES:
                        _cache.popitem(last=False)
        content_type = media_type
        if renderer.charset:
            content_type = f"{media_type}; charset={renderer.charset}"
        response = HttpResponse(content, content_type=content_type)
        filename = self._get_filename(request, version)
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        return response


# Redoc's sidebar footer always shows the Redocly logo from its CDN; there is no option to
# turn it off. Serving the sidecar bundle with that one URL swapped for an empty inline
# image keeps /api/redoc/ free of outside requests (the logo's onError hides it anyway).
REDOC_LOGO_URL = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


@functools.cache
def _redoc_bundle() -> bytes:
    path = finders.find("drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")
    if path is None:
        raise Http404("Redoc is not installed.")
    with open(path, encoding="utf-8") as bundle:
        return bundle.read().replace(REDOC_LOGO_URL, EMPTY_SVG).encode()


@require_GET
def redoc_bundle(request):
    response = HttpResponse(_redoc_bundle(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


class PageOptionsMixin:
    """OPTIONS on a docs page answers like any Django page: 200, `Allow`, no body. DRF's
    answer is the view's metadata rendered through the page's template, and the Swagger UI
    template includes a template named only in its GET data: a 500."""

    def options(self, request, *args, **kwargs) -> HttpResponse:
        response = HttpResponse()
        response["Allow"] = ", ".join(self.allowed_methods)
        response["Content-Length"] = "0"
        return response


class LocalSwaggerView(PageOptionsMixin, SpectacularSwaggerSplitView):
    pass


class LocalRedocView(PageOptionsMixin, SpectacularRedocView):
    @staticmethod
    def _redoc_standalone():
        return reverse("redoc-bundle")
