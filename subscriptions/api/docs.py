"""The OpenAPI document view, cached until the event catalogue changes.

Generating the document walks every API view and every event type; the result only
changes when code changes (a restart) or an EventType row changes, so it is kept per
catalogue fingerprint. The cache is per process, which is right for several processes:
each one notices the same database change on its next request."""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.db import DatabaseError
from django.utils import translation
from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response

from subscriptions.openapi import catalogue_fingerprint

_MAX_ENTRIES = 8
_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()


def clear_cache() -> None:
    with _lock:
        _cache.clear()


class CachedSpectacularAPIView(SpectacularAPIView):
    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        try:
            fingerprint = catalogue_fingerprint()
        except DatabaseError:
            fingerprint = None
        key = (fingerprint, version, translation.get_language(), self.serve_public)
        with _lock:
            document = _cache.get(key) if fingerprint is not None else None
        if document is None:
            generator = self.generator_class(
                urlconf=self.urlconf, api_version=version, patterns=self.patterns
            )
            document = generator.get_schema(request=request, public=self.serve_public)
            if fingerprint is not None:
                with _lock:
                    _cache[key] = document
                    while len(_cache) > _MAX_ENTRIES:
                        _cache.popitem(last=False)
        filename = self._get_filename(request, version)
        return Response(
            data=document, headers={"Content-Disposition": f'inline; filename="{filename}"'}
        )
