"""Typed receiver code, generated from the served document, held to what HookHub really
sends: the pydantic models parse bodies a real receiver on 127.0.0.1 got, the generated
Python receiver accepts a real signed delivery and refuses forgeries, and the Node receiver
with the generated TypeScript types passes `tsc --strict` (a wrong field does not) and
verifies a real delivery under node."""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import RequestFactory
from pydantic import ValidationError
from standardwebhooks import Webhook

from deliveries.models import Delivery
from subscriptions import codegen, wire
from subscriptions.models import EventType
from tests.factories import EndpointFactory, EventTypeFactory

pytestmark = pytest.mark.django_db

NODE = shutil.which("node")
NODE_MODULES = Path(settings.BASE_DIR) / "node_modules"
TSC = NODE_MODULES / ".bin" / "tsc"
needs_node = pytest.mark.skipif(
    NODE is None,
    reason="node is not installed: the TypeScript checks can't run (install Node.js, then "
    "`make` installs openapi-typescript, typescript and standardwebhooks into node_modules/)",
)

# An admin-defined type whose stored schema uses `$defs`, recursively.
SHIPPED_SCHEMA = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "parcels": {"type": "array", "items": {"$ref": "#/$defs/parcel"}},
    },
    "required": ["order_id", "address"],
    "$defs": {
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
        "parcel": {
            "type": "object",
            "properties": {
                "weight_kg": {"type": "number"},
                "inner": {"$ref": "#/$defs/parcel"},
            },
            "required": ["weight_kg"],
        },
    },
}
SHIPPED_DATA = {
    "order_id": "ord_7",
    "address": {"city": "Lyon"},
    "parcels": [{"weight_kg": 1.5, "inner": {"weight_kg": 0.2}}],
}
SUBSCRIPTION_DATA = {"username": "ada", "monthly_fee": 9.99, "start_date": "2026-11-28T10:00:00Z"}


@pytest.fixture(autouse=True)
def _fresh_code_cache():
    # Tests roll their rows back, so a catalogue fingerprint can repeat across tests.
    caches[settings.HOOKHUB_RECEIVER_CODE_CACHE].clear()
    yield
    caches[settings.HOOKHUB_RECEIVER_CODE_CACHE].clear()


@pytest.fixture
def shipped_type(db):
    return EventTypeFactory(name="order-shipped", schema=SHIPPED_SCHEMA, example=SHIPPED_DATA)


def fetch_code(api, name: str) -> dict:
    response = api.get(f"/api/v1/event-types/{name}/code/")
    assert response.status_code == 200, response.content
    return response.json()


def load_models(source: str, folder: Path):
    """Import generated code as a real module, as a receiver would."""
    module_name = f"hookhub_models_{uuid.uuid4().hex}"
    path = folder / f"{module_name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # pydantic resolves postponed annotations through it
    spec.loader.exec_module(module)
    return module


def subscribe(owner, url: str, type_name: str):
    return EndpointFactory(
        owner=owner, url=url, event_types=[EventType.objects.get(name=type_name)]
    )


def without(body: bytes, field: str) -> dict:
    envelope = json.loads(body)
    del envelope["data"][field]
    return envelope


# -- (a) the pydantic models against real deliveries ------------------------------------------


def test_generated_models_parse_a_delivered_body_and_refuse_one_missing_a_field(
    owner, owner_api, receiver, publish_now, tmp_path
):
    subscribe(owner, receiver.url("/hook"), "new-subscription")
    publish_now("new-subscription", SUBSCRIPTION_DATA)
    assert receiver.wait_for(1)
    body = receiver.requests[0].body

    code = fetch_code(owner_api, "new-subscription")
    models = load_models(code["python"]["types"], tmp_path)
    model = getattr(models, code["model_name"])
    event = model.model_validate_json(body)

    assert event.type == "new-subscription"
    assert event.data.username == "ada" and event.data.monthly_fee == 9.99
    assert event.timestamp.tzinfo is not None
    with pytest.raises(ValidationError, match="username"):
        model.model_validate(without(body, "username"))


def test_generated_models_parse_an_admin_type_whose_schema_has_defs(
    owner, owner_api, receiver, publish_now, shipped_type, tmp_path
):
    subscribe(owner, receiver.url("/hook"), "order-shipped")
    publish_now("order-shipped", SHIPPED_DATA)
    assert receiver.wait_for(1)
    body = receiver.requests[0].body

    code = fetch_code(owner_api, "order-shipped")
    model = getattr(load_models(code["python"]["types"], tmp_path), code["model_name"])
    event = model.model_validate_json(body)

    assert event.data.address.city == "Lyon"
    assert event.data.parcels[0].inner.weight_kg == 0.2  # the recursive definition
    with pytest.raises(ValidationError, match="address"):
        model.model_validate(without(body, "address"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"receiver exited: {process.communicate()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("receiver did not start listening")


def post(port: int, body: bytes, headers: dict) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("POST", "/", body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_generated_python_receiver_accepts_a_real_delivery_and_refuses_forgeries(
    owner, owner_api, publish_now, tmp_path
):
    port = free_port()
    endpoint = subscribe(owner, f"http://127.0.0.1:{port}/", "new-subscription")
    code = fetch_code(owner_api, "new-subscription")
    (tmp_path / code["python"]["types_file"]).write_text(code["python"]["types"])
    receiver_source = code["python"]["receiver"].replace('"whsec_..."', repr(endpoint.secret))
    (tmp_path / code["python"]["receiver_file"]).write_text(receiver_source)
    process = subprocess.Popen(
        [sys.executable, code["python"]["receiver_file"]],
        cwd=tmp_path,
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_listening(port, process)
        event = publish_now("new-subscription", SUBSCRIPTION_DATA)
        delivery = Delivery.objects.get(event=event)
        assert delivery.status == Delivery.Status.SUCCEEDED
        assert delivery.attempts.get().response_status == 204

        body = json.dumps(wire.example("new-subscription", SUBSCRIPTION_DATA)).encode()
        forged = {"webhook-id": "msg_x", "webhook-timestamp": str(int(time.time()))}
        assert post(port, body, {**forged, "webhook-signature": "v1,Zm9yZ2Vk"}) == 400
        # Signed with the endpoint's secret, but `data` lacks a required field.
        short = json.dumps(wire.example("new-subscription", {"username": "ada"})).encode()
        signature = Webhook(endpoint.secret).sign("msg_y", datetime.now(UTC), short)
        signed = {"webhook-id": "msg_y", "webhook-timestamp": forged["webhook-timestamp"]}
        assert post(port, short, {**signed, "webhook-signature": signature}) == 422
    finally:
        process.terminate()
        output, errors = process.communicate(timeout=10)
    assert f"{event.uid} new-subscription 9.99" in output, errors


# -- (b) TypeScript: tsc --strict on the Node receiver and the generated types ----------------


def typescript_project(folder: Path, code: dict, receiver: str | None = None) -> Path:
    """The receiver and its types in a fresh folder whose node_modules is the project's."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    (folder / code["typescript"]["types_file"]).write_text(code["typescript"]["types"])
    (folder / code["typescript"]["receiver_file"]).write_text(
        receiver or code["typescript"]["receiver"]
    )
    tsconfig = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "target": "ES2022",
            "module": "commonjs",
            "moduleResolution": "node10",
            "lib": ["ES2022", "DOM", "DOM.Iterable"],
            "types": [],
            "skipLibCheck": True,
        },
        "files": [code["typescript"]["receiver_file"]],
    }
    (folder / "tsconfig.json").write_text(json.dumps(tsconfig))
    return folder


def tsc(folder: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NODE, str(TSC), "--strict", "--noEmit", "-p", str(folder), *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@needs_node
def test_node_receiver_with_generated_types_passes_tsc_strict_and_a_wrong_field_fails(
    owner_api, tmp_path
):
    code = fetch_code(owner_api, "new-subscription")
    assert code["typescript"]["problem"] == ""
    receiver = code["typescript"]["receiver"]
    assert "event.data.monthly_fee" in receiver

    good = tsc(typescript_project(tmp_path / "good", code))
    assert good.returncode == 0, good.stdout + good.stderr

    wrong = receiver.replace("event.data.monthly_fee", "event.data.monthly_price")
    bad = tsc(typescript_project(tmp_path / "bad", code, wrong))
    assert bad.returncode != 0
    assert "error TS2339" in bad.stdout and "monthly_price" in bad.stdout


@needs_node
def test_node_receiver_verifies_a_real_delivery_under_node(
    owner, owner_api, receiver, publish_now, tmp_path
):
    endpoint = subscribe(owner, receiver.url("/hook"), "new-subscription")
    publish_now("new-subscription", SUBSCRIPTION_DATA)
    assert receiver.wait_for(1)
    got = receiver.requests[0]
    code = fetch_code(owner_api, "new-subscription")
    source = code["typescript"]["receiver"].replace('"whsec_..."', json.dumps(endpoint.secret))
    folder = typescript_project(tmp_path, code, source)
    built = tsc(folder, "--noEmit", "false", "--outDir", str(folder / "build"))
    assert built.returncode == 0, built.stdout + built.stderr
    # What a Fetch-style adapter (e.g. @hono/node-server) does: the delivered request as a
    # web Request, handed to the receiver; then the same with the body altered.
    harness = """
const { receive } = require("./build/receiver.js");
const got = JSON.parse(require("fs").readFileSync(0, "utf8"));
const call = (body) => receive(new Request("http://127.0.0.1/hook", {
  method: "POST", headers: got.headers, body }));
(async () => {
  const genuine = await call(got.body);
  const altered = await call(got.body.replace("ada", "eve"));
  console.log(JSON.stringify([genuine.status, altered.status]));
})();
"""
    (folder / "harness.js").write_text(harness)
    headers = {k: v for k, v in got.headers.items() if k.startswith("webhook-")}
    run = subprocess.run(
        [NODE, "harness.js"],
        cwd=folder,
        input=json.dumps({"headers": headers, "body": got.body.decode()}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert json.loads(lines[-1]) == [204, 400]
    assert f"{got.headers['webhook-id']} new-subscription 9.99" in lines[0]


# -- the API itself ---------------------------------------------------------------------------


def test_typescript_part_says_node_is_missing_and_the_rest_still_works(
    owner_api, settings, tmp_path
):
    settings.HOOKHUB_NODE = "hookhub-no-such-node"
    code = fetch_code(owner_api, "new-subscription")
    assert code["typescript"]["types"] == ""
    assert "Node.js is not installed" in code["typescript"]["problem"]
    assert code["typescript"]["receiver"].startswith("// A receiver for")
    models = load_models(code["python"]["types"], tmp_path)
    assert hasattr(models, code["model_name"])


def test_unknown_and_archived_types_have_no_code(owner_api, staff_api, shipped_type):
    EventType.objects.filter(name="order-shipped").update(archived=True)
    for api in (owner_api, staff_api):
        for name in ("no-such-type", "order-shipped"):
            response = api.get(f"/api/v1/event-types/{name}/code/")
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"


def test_code_needs_credentials(client):
    assert client.get("/api/v1/event-types/new-subscription/code/").status_code in (401, 403)


def test_code_operation_is_documented_in_the_openapi_document(client):
    document = json.loads(client.get("/api/schema/", {"format": "json"}).content)
    operation = document["paths"]["/api/v1/event-types/{name}/code/"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/EventTypeCode"}
    generated = document["components"]["schemas"]["GeneratedCode"]
    assert {"types", "problem", "receiver"} <= set(generated["required"])


# -- (c) the whole catalogue, 500 types -------------------------------------------------------


def bulk_schema(number: int) -> dict:
    if number % 2:
        return {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}
    return SHIPPED_SCHEMA


@pytest.mark.slow
def test_whole_catalogue_of_500_types_generates_loads_and_passes_tsc_strict(
    staff, tmp_path, settings
):
    existing = EventType.objects.filter(archived=False).count()
    EventType.objects.bulk_create(
        EventType(
            name=f"bulk-type-{number}",
            schema=bulk_schema(number),
            example={"id": number} if number % 2 else SHIPPED_DATA,
        )
        for number in range(500 - existing)
    )
    request = RequestFactory().get("/webhooks/")
    request.user = staff

    started = time.perf_counter()
    made = codegen.catalogue_code(request)
    uncached = time.perf_counter() - started
    started = time.perf_counter()
    assert codegen.catalogue_code(request) == made
    cached = time.perf_counter() - started
    print(f"500 types: generated in {uncached:.2f} s, from the cache in {cached * 1000:.1f} ms")

    assert len(made.model_names) == 500
    assert made.python.problem == "", made.python.problem
    models = load_models(made.python.code, tmp_path)
    for event_type in EventType.objects.filter(archived=False):
        model = getattr(models, made.model_names[event_type.name])
        model.model_validate(wire.example(event_type.name, event_type.example))
    assert cached < uncached / 10

    if NODE is None:
        pytest.skip("node is not installed: the Python half passed; TypeScript not checked")
    assert made.typescript.problem == "", made.typescript.problem
    (tmp_path / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    (tmp_path / "hookhub-types.ts").write_text(made.typescript.code)
    bulk = made.model_names["bulk-type-0"]
    (tmp_path / "use.ts").write_text(
        f'import type {{ {bulk} }} from "./hookhub-types";\n'
        f"export function city(event: {bulk}): string {{\n"
        "  return event.data.address.city + (event.data.parcels?.[0]?.inner?.weight_kg ?? 0);\n"
        "}\n"
    )
    tsconfig = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "target": "ES2022",
            "types": [],
            "skipLibCheck": True,
        },
        "files": ["hookhub-types.ts", "use.ts"],
    }
    (tmp_path / "tsconfig.json").write_text(json.dumps(tsconfig))
    checked = tsc(tmp_path)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr
