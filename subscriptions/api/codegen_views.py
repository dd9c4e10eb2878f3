"""GET /api/v1/event-types/{name}/code/: typed receiver code for one event type.

The same generated code as the dashboard's code page (subscriptions.codegen): the API is
for scripts that fetch the models and types into a receiver's build."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from subscriptions import codegen


class GeneratedCodeSerializer(serializers.Serializer):
    types_file = serializers.CharField(help_text="The file name the receiver imports it as.")
    types = serializers.CharField(
        allow_blank=True,
        help_text="The generated models or types; empty when they could not be made (see "
        "`problem`).",
    )
    problem = serializers.CharField(
        allow_blank=True,
        help_text="Why `types` is empty, e.g. Node.js is not installed on the server; empty "
        "when it is there.",
    )
    receiver_file = serializers.CharField()
    receiver = serializers.CharField(
        help_text="A complete receiver that verifies the Standard Webhooks signature with the "
        "`standardwebhooks` library and reads the body with `types`."
    )

    class Meta:
        ref_name = "GeneratedCode"


class EventTypeCodeSerializer(serializers.Serializer):
    event_type = serializers.CharField()
    model_name = serializers.CharField(
        help_text="The body's model (Python) and type (TypeScript) in the generated code."
    )
    python = GeneratedCodeSerializer(help_text="pydantic v2 models (datamodel-code-generator).")
    typescript = GeneratedCodeSerializer(help_text="TypeScript types (openapi-typescript).")

    class Meta:
        ref_name = "EventTypeCode"


def _payload(code: codegen.ReceiverCode) -> dict:
    return {
        "event_type": code.event_type,
        "model_name": code.model_name,
        "python": {
            "types_file": codegen.PYTHON_MODELS_FILE,
            "types": code.python.code,
            "problem": code.python.problem,
            "receiver_file": codegen.PYTHON_RECEIVER_FILE,
            "receiver": code.python_receiver,
        },
        "typescript": {
            "types_file": codegen.TYPESCRIPT_TYPES_FILE,
            "types": code.typescript.code,
            "problem": code.typescript.problem,
            "receiver_file": codegen.TYPESCRIPT_RECEIVER_FILE,
            "receiver": code.typescript_receiver,
        },
    }


class EventTypeCodeView(APIView):
    """Readable by anyone signed in, like the catalogue itself (archived types: 404)."""

    @extend_schema(
        summary="Typed receiver code for an event type",
        description="pydantic v2 models and TypeScript types of the event type's request "
        "body, generated from this document's `webhooks` entry, and receivers in Python and "
        "Node (TypeScript) that verify the signature and use them. Generated once per change "
        "of the catalogue. Without Node.js on the server, `typescript.types` is empty and "
        "`typescript.problem` says why; the rest is still there.",
        parameters=[
            OpenApiParameter(
                "name",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The event type's name.",
                pattern="^[-a-zA-Z0-9_]+$",
            )
        ],
        responses={200: EventTypeCodeSerializer},
    )
    def get(self, request, name: str):
        code = codegen.receiver_code(request, name)
        if code is None:
            raise NotFound("No such event type.")
        return Response(EventTypeCodeSerializer(_payload(code)).data)
