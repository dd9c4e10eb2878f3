"""Every API error is JSON of one shape: `{"detail", "code", "errors"?}`.

`errors` maps field names to lists of messages (`non_field_errors` for the rest), so a
client can show each message next to its input. Anything under /api/ that never reaches a
DRF view gets the same shape: an unknown URL from `api_route_not_found` (the last /api/
route, so in every DEBUG mode), an Http404 or a crash from `handler404` / `handler500`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import page_not_found, server_error
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from hookhub.api.schema import ErrorSerializer, HookHubAutoSchema

API_PREFIX = "/api/"


class BodyOperationSchema(HookHubAutoSchema):
    """The schema class of views whose operations read a body: they also document the 415
    answered to a body in a media type they don't parse (a form post to a JSON-only one)."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction == "response" and "415" not in responses and self._reads_body():
            responses["415"] = self._get_response_for_code(ErrorSerializer, "415")
            responses["415"]["description"] = (
                "The body is in a media type this operation does not read: send one of its "
                "request body's content types."
            )
        return responses

    def _reads_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None


def django_errors(error: DjangoValidationError, field: str | None = None) -> dict:
    """A Django ValidationError as DRF field errors (`{"field": ["message"]}`)."""
    if hasattr(error, "error_dict"):
        return {key: [str(m) for m in value] for key, value in error.message_dict.items()}
    return {field or "non_field_errors": list(error.messages)}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(django_errors(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data
        if not isinstance(errors, dict):
            errors = {"non_field_errors": errors}
        response.data = {
            "detail": _first_message(errors) or "Invalid input.",
            "code": "invalid",
            "errors": errors,
        }
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {
            "detail": str(exc.detail) if not isinstance(exc.detail, dict | list) else "Error.",
            "code": codes if isinstance(codes, str) else "error",
        }
    else:  # Http404 / PermissionDenied, converted by DRF
        response.data = {
            "detail": str(response.data.get("detail", "Error.")),
            "code": "not_found" if response.status_code == 404 else "permission_denied",
        }
    return response


def _first_message(errors) -> str | None:
    """The first message in a nested error structure, prefixed with its field, for humans."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            message = _first_message(value)
            if message:
                return message if key == "non_field_errors" else f"{key}: {message}"
    elif isinstance(errors, list):
        for item in errors:
            message = _first_message(item)
            if message:
                return message
    elif errors:
        return str(errors)
    return None


def json_not_found(request, exception=None):
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            {"detail": "No such API route.", "code": "not_found"},
            status=status.HTTP_404_NOT_FOUND,
        )

    return page_not_found(request, exception)


@csrf_exempt  # a JSON 404 for a token-authenticated POST, not the CSRF failure page
def api_route_not_found(request, path: str = ""):
    """The last route under /api/: anything the API and docs routes did not match.

    `handler404` is not used with DEBUG on (Django renders its HTML page instead), and for a
    path missing its trailing slash APPEND_SLASH would redirect (losing a POST's body) or,
    with DEBUG on, raise on a POST. Matching here answers first, the same in both modes.
    API routes keep one spelling, with the slash, so the document lists one path per
    operation: a GET or HEAD is redirected there (nothing to lose, and links to the docs
    pages keep working); any other method gets the 404, which names the right URL."""
    slashed = f"{request.path_info}/"
    urlconf = getattr(request, "urlconf", None)  # set only by a middleware that picks one
    if not request.path_info.endswith("/") and _is_route(slashed, urlconf):
        if request.method in ("GET", "HEAD"):
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
        detail = f"No such API route. API routes end with a slash: {request.method} {slashed}"
    else:
        detail = "No such API route."
    return JsonResponse({"detail": detail, "code": "not_found"}, status=status.HTTP_404_NOT_FOUND)


def _is_route(path: str, urlconf) -> bool:
    """Whether `path` matches a real route (this catch-all matches any path under /api/)."""
    try:
        match = resolve(path, urlconf)
    except Resolver404:
        return False
    return match.func is not api_route_not_found


def json_server_error(request):
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            {"detail": "HookHub failed to handle the request.", "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    return server_error(request)
