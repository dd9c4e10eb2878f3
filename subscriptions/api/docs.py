"""The OpenAPI document view, cached until the event catalogue changes.

Generating the document walks every API view and every event type, and rendering 500
webhooks as YAML takes longer than generating them; the result only changes when code
changes (a restart) or an EventType row changes. So the rendered bytes are kept per
catalogue fingerprint and format. The cache is per process, which is right for several
processes: each one notices the same database change on its next request."""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.db import DatabaseError
from django.http import HttpResponse
from django.utils import translation
from drf_spectacular.views import SpectacularAPIView

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
