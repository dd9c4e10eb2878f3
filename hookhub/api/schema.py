"""How the REST API describes itself in the OpenAPI document.

Every operation documents its error responses (they share the `Error` component), so
clients and the schemathesis run can hold the API to the document for failures too."""

from __future__ import annotations

import copy

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import serializers

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `errors` maps each field to its messages.",
    "401": "No credentials, or an invalid or revoked API token.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "No such object, or it belongs to someone else.",
    "429": "Too many requests (per user, per address without credentials or after failed "
    "token attempts, and stricter for test sends, endpoint creation and publishing): try "
    "again after `Retry-After` seconds.",
}
# Headers an error response always carries, by status code.
ERROR_HEADERS = {
    "429": {
        "Retry-After": {
            "description": "Seconds until the limit this request exceeded allows requests again.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in plain words.")
    code = serializers.CharField(help_text="Machine-readable error code.")
    errors = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Field errors: field name -> list of messages.",
    )

    class Meta:
        ref_name = "Error"


class HookHubAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, description in ERROR_DESCRIPTIONS.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code)
                responses[code]["description"] = description
                if code in ERROR_HEADERS:
                    responses[code]["headers"] = copy.deepcopy(ERROR_HEADERS[code])
        return responses


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "hookhub.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix="Bearer",  # noqa: S106
        )
        scheme["description"] = "`python manage.py create_api_token USERNAME` prints a token."
        return scheme
