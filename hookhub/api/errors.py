"""Every API error is JSON of one shape: `{"detail", "code", "errors"?}`.

`errors` maps field names to lists of messages (`non_field_errors` for the rest), so a
client can show each message next to its input. Anything under /api/ that never reaches a
DRF view (unknown URL, crash) gets the same shape from `handler404` / `handler500`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views.defaults import page_not_found, server_error
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

API_PREFIX = "/api/"


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


def json_server_error(request):
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            {"detail": "HookHub failed to handle the request.", "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    return server_error(request)
