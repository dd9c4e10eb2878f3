"""Outside tools hold the served document valid: Redocly's `recommended` rules (as the
checked-in redocly.yaml adjusts them), swagger-parser and openapi-spec-validator, on a small
catalogue of awkward types and on one of 500 types. All offline; the Node tools come from
`make` (npm ci) and are skipped, loudly, only when they are not installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator

from subscriptions.models import EventType
from tests.api.test_openapi_document import fetch_document
from tests.api.test_openapi_shape import LOOKALIKES, ORDER_EXAMPLE, ORDER_SCHEMA, example_errors

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
REDOCLY = ROOT / "node_modules" / ".bin" / "redocly"
SWAGGER_PARSER = ROOT / "node_modules" / "@apidevtools" / "swagger-parser"
TOOL_TIMEOUT = 120
# Names that look alike, that would make the API's own component names, and staff text that
# a renderer would run.
AWKWARD = [*LOOKALIKES, "test", "endpoint", "error", "Order-Paid", "order_paid", "v-2"]
ATTACK = "<script>alert(1)</script>\n\nSee [x](javascript:alert(1)) & [docs](https://a.example)."


def _admin_type(name: str, number: int) -> EventType:
    schema = json.loads(json.dumps(ORDER_SCHEMA))
    schema["$defs"][f"extra_{number}"] = {"type": "string", "description": ATTACK}
    schema["properties"]["extra"] = {"$ref": f"#/$defs/extra_{number}"}
    return EventType(
        name=name,
        description=ATTACK if number % 2 else f"Catalogue type {number}.",
        schema=schema,
        example={**ORDER_EXAMPLE, "extra": "x"},
        source=EventType.Source.ADMIN,
    )


def _write_document(client, tmp_path: Path, count: int) -> Path:
    names = [*AWKWARD, *(f"catalogue-type-{n}" for n in range(count - len(AWKWARD)))]
    EventType.objects.bulk_create(_admin_type(name, n) for n, name in enumerate(names))
    document = fetch_document(client)
    assert len(document["webhooks"]) >= count
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture
def small_document(client, tmp_path) -> Path:
    return _write_document(client, tmp_path, len(AWKWARD))


@pytest.fixture
def large_document(client, tmp_path) -> Path:
    return _write_document(client, tmp_path, 500)


def _node_tool(path: Path, what: str) -> str:
    node = shutil.which("node")
    if node is None or not path.exists():
        pytest.skip(
            f"*** {what} is not installed (needs Node.js and `make`, which runs npm ci): "
            "this check of the OpenAPI document is SKIPPED ***"
        )
    return node


def redocly_errors(document: Path) -> list[str]:
    _node_tool(REDOCLY, "Redocly CLI")
    completed = subprocess.run(
        [str(REDOCLY), "lint", str(document), "--config", str(ROOT / "redocly.yaml")]
        + ["--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        env={**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"},
        check=False,
    )
    report = json.loads(completed.stdout)
    return [
        f"{problem['ruleId']}: {problem['message']} at {problem['location'][0]['pointer']}"
        for problem in report["problems"]
        if problem["severity"] == "error"
    ]


def swagger_parser_verdict(document: Path) -> subprocess.CompletedProcess:
    node = _node_tool(SWAGGER_PARSER, "@apidevtools/swagger-parser")
    script = (
        "require('@apidevtools/swagger-parser').validate(process.argv[1])"
        ".then(() => console.log('valid'), (error) => {"
        " console.error(error.message); process.exit(1); })"
    )
    return subprocess.run(
        [node, "-e", script, str(document)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )


def test_redocly_recommended_rules_find_no_errors(small_document):
    assert redocly_errors(small_document) == []


def test_swagger_parser_validates_the_document(small_document):
    verdict = swagger_parser_verdict(small_document)
    assert verdict.returncode == 0, verdict.stderr
    assert verdict.stdout.strip() == "valid"


def test_swagger_parser_refuses_a_reference_to_a_missing_component(small_document):
    document = json.loads(small_document.read_text())
    (operation,) = document["webhooks"]["a-b"].values()
    operation["requestBody"]["content"]["application/json"]["schema"]["$ref"] += "-Missing"
    small_document.write_text(json.dumps(document))
    verdict = swagger_parser_verdict(small_document)
    assert verdict.returncode == 1 and "AB-Event-Missing" in verdict.stderr, verdict.stderr


def test_openapi_spec_validator_validates_the_document(small_document):
    validate(json.loads(small_document.read_text()), cls=OpenAPIV31SpecValidator)


def test_redocly_reports_two_webhooks_sharing_an_operation_id(small_document):
    document = json.loads(small_document.read_text())
    (operation,) = document["webhooks"]["a-b"].values()
    operation["operationId"] = document["webhooks"]["a_b"]["post"]["operationId"]
    small_document.write_text(json.dumps(document))
    assert any(
        error.startswith("operation-operationId-unique") for error in redocly_errors(small_document)
    )


@pytest.mark.slow
def test_a_500_type_document_passes_all_three_checkers_and_its_examples_match(large_document):
    assert redocly_errors(large_document) == []
    verdict = swagger_parser_verdict(large_document)
    assert verdict.returncode == 0, verdict.stderr
    document = json.loads(large_document.read_text())
    validate(document, cls=OpenAPIV31SpecValidator)
    assert example_errors(document) == []
