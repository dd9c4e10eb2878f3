"""Typed receiver code for event types, generated from the OpenAPI document HookHub serves.

For one event type (or the whole catalogue) the served document is cut down to the type's
request body and the components it references, then handed to datamodel-code-generator
(pydantic v2 models) and openapi-typescript (TypeScript types), each run as a subprocess
with a timeout. So the code a receiver copies is derived from the same document clients
read, not from a second description of the payloads that could drift.

Cutting the document down, rather than feeding it whole, keeps a page of one type small
and fast with 500 types in the catalogue, and lets every `$ref` that points anywhere but
at a whole `components/schemas` entry (into a stored schema's `$defs`, or deep into
`webhooks`) be hoisted into a component of its own, and every component take a class-like
name (`NewSubscription-Event` becomes `NewSubscriptionEvent`): openapi-typescript
mistranslates `$ref`s that point deep into `webhooks`, and both tools would otherwise
pick the names.

Results are kept in Django's cache per catalogue version (`catalogue_fingerprint`), the
tools' versions and where they are, so a page view runs the generators at most once per
change of the catalogue.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import json
import keyword
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, QueryDict
from django.template.loader import render_to_string

from subscriptions.models import EventType
from subscriptions.openapi import catalogue_fingerprint
from subscriptions.schemas import map_refs

logger = logging.getLogger(__name__)

COMPONENTS = "#/components/schemas/"
PYTHON_MODELS_FILE = "hookhub_models.py"
TYPESCRIPT_TYPES_FILE = "hookhub-types.ts"
PYTHON_RECEIVER_FILE = "receiver.py"
TYPESCRIPT_RECEIVER_FILE = "receiver.ts"
# The oldest Python still supported upstream: `X | None` annotations, no `Optional`.
TARGET_PYTHON = "3.10"
# Bump when the flags, the cutting down or the snippets change, so that code cached before
# is not served.
CODE_REVISION = "1"
_EXCERPT_CHARS = 2000
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# A `data` field the snippets can show as `event.data.<name>`: the same attribute name in
# the pydantic model (no alias, no clash with BaseModel's own names) and in TypeScript.
_PLAIN_FIELD = re.compile(r"[a-z][a-z0-9_]*\Z")
_BASEMODEL_NAMES = {"copy", "dict", "json", "schema", "construct", "validate", "fields"}


@dataclass(frozen=True)
class Generated:
    """A generator's output: `code`, or `problem` saying in plain words why there is none."""

    code: str = ""
    problem: str = ""
    passing: bool = False  # the problem may pass (a timeout): not worth caching


@dataclass(frozen=True)
class CatalogueCode:
    """Models and types for several event types; `model_names` maps type name -> model."""

    model_names: dict[str, str]
    python: Generated
    typescript: Generated


@dataclass(frozen=True)
class ReceiverCode:
    event_type: str
    model_name: str
    python: Generated
    typescript: Generated
    python_receiver: str
    typescript_receiver: str


# -- the served document, cut down ------------------------------------------------------------


def served_document(request: HttpRequest) -> dict:
    """The OpenAPI document exactly as /api/schema/?format=json serves it to this request's
    host and language, through the schema view and so through its per-catalogue cache."""
    from hookhub.api.docs import CachedSpectacularAPIView  # the URLconf's view, imported late

    schema_request = copy.copy(getattr(request, "_request", request))
    schema_request.method = "GET"
    schema_request.GET = QueryDict("format=json")
    response = CachedSpectacularAPIView.as_view()(schema_request)
    return json.loads(response.content)


def _pointer_parts(ref: str) -> list[str]:
    return [unquote(part).replace("~1", "/").replace("~0", "~") for part in ref[2:].split("/")]


def _lookup(document: dict, ref: str) -> Any:
    node: Any = document
    for part in _pointer_parts(ref):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _pascal(text: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in re.split(r"[^A-Za-z0-9]+", text) if word)


# Keywords whose value maps property names (not keywords) to schemas: a property called
# "$defs" there is data, not a definitions block.
_NAME_MAPS = {"properties", "patternProperties", "dependentSchemas"}


def _drop_defs(node: Any, names_map: bool = False) -> Any:
    """`node` without `$defs`/`definitions` blocks: once every reference into them is hoisted
    they are dead, and openapi-typescript would type them as required properties."""
    if isinstance(node, dict):
        return {
            key: _drop_defs(value, key in _NAME_MAPS and not names_map)
            for key, value in node.items()
            if names_map or key not in ("$defs", "definitions")
        }
    if isinstance(node, list):
        return [_drop_defs(item) for item in node]
    return node


class _Pruner:
    """Copies the schemas a set of webhook bodies need into a fresh `components/schemas`,
    every `$ref` rewritten to point at a named component there."""

    def __init__(self, document: dict) -> None:
        self.document = document
        self.schemas: dict[str, Any] = {}
        self.names: dict[str, str] = {}  # JSON pointer in `document` -> component name

    def _unique(self, wanted: str) -> str:
        base = wanted if _IDENTIFIER.match(wanted) else (_pascal(wanted) or "Schema")
        if not base[0].isalpha():
            base = "Schema" + base
        name, number = base, 2
        while name in self.schemas:
            name, number = f"{base}{number}", number + 1
        return name

    def component(self, pointer: str, wanted: str, schema: Any = None) -> str:
        """The component name for the schema at `pointer`, copying it in on first use (the
        name is taken before copying, so recursive schemas end)."""
        if pointer in self.names:
            return self.names[pointer]
        name = self._unique(wanted)
        self.names[pointer] = name
        self.schemas[name] = None
        source = _lookup(self.document, pointer) if schema is None else schema
        self.schemas[name] = _drop_defs(map_refs(source, self._rewrite))
        return name

    def _rewrite(self, ref: str, _path: tuple) -> str:
        if not ref.startswith("#/"):
            return ref  # an anchor or a remote reference: left for the tools to refuse
        parts = _pointer_parts(ref)
        if len(parts) == 3 and ref.startswith(COMPONENTS):
            return COMPONENTS + self.component(ref, parts[-1])  # keeps the document's name
        # Somewhere else (a stored schema's `$defs`): a class name made of its key.
        return COMPONENTS + self.component(ref, _pascal(parts[-1]) if parts else "Schema")

    def body(self, type_name: str) -> str:
        item = self.document["webhooks"][type_name]
        method = next(iter(item))
        pointer = f"#/webhooks/{type_name}/{method}/requestBody/content/application~1json/schema"
        schema = _lookup(self.document, pointer)
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        if isinstance(ref, str) and ref.startswith("#/") and len(schema) == 1:
            # The body is a named component: keep the document's own name for it.
            return self.component(ref, _pointer_parts(ref)[-1])
        return self.component(pointer, _pascal(type_name) + "Event", schema)


def body_document(document: dict, type_names: list[str]) -> tuple[dict[str, str], dict]:
    """(type name -> model name, a standalone OpenAPI 3.1 document of only those bodies)."""
    pruner = _Pruner(document)
    model_names = {name: pruner.body(name) for name in type_names}
    cut = {
        "openapi": document.get("openapi", "3.1.0"),
        "info": document.get("info", {"title": "HookHub", "version": "1"}),
        "paths": {},
        "components": {"schemas": pruner.schemas},
    }
    return model_names, cut


# -- the generators ---------------------------------------------------------------------------


def _excerpt(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).strip()
    return text[-_EXCERPT_CHARS:] or "no output"


def _run(command: list[str], timeout: float, cwd: str, output: Path, what: str) -> Generated:
    """Never raises for the tool's failure: the page shows the problem instead."""
    try:
        completed = subprocess.run(  # noqa: S603 - our own argument list
            command,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**_tool_env(), "NO_COLOR": "1", "FORCE_COLOR": "0"},
        )
    except subprocess.TimeoutExpired:
        return Generated(
            problem=f"{what} took longer than {timeout:g} s and was stopped.", passing=True
        )
    except OSError as error:
        return Generated(problem=f"{what} could not be started: {error}.", passing=True)
    if completed.returncode != 0 or not output.exists():
        said = _excerpt(completed.stderr or completed.stdout)
        logger.warning("%s failed: %s", what, said)
        return Generated(problem=f"{what} failed: {said}")
    return Generated(code=output.read_text(encoding="utf-8"))


def _tool_env() -> dict[str, str]:
    # Where programs and modules are, and the locale: the tools need none of the server's
    # secrets (SECRET_KEY, DATABASE_URL, ...) in their environment.
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "NODE_PATH", "SYSTEMROOT")
    return {key: os.environ[key] for key in keep if key in os.environ}


def _python_models(workdir: str, source: Path) -> Generated:
    output = Path(workdir) / PYTHON_MODELS_FILE
    command = [
        sys.executable,
        "-m",
        "datamodel_code_generator",
        "--input",
        str(source),
        "--input-file-type",
        "openapi",
        "--openapi-scopes",
        "schemas",
        "--output-model-type",
        "pydantic_v2.BaseModel",
        "--target-python-version",
        TARGET_PYTHON,
        "--disable-timestamp",
        # The built-in formatter: black and isort would add a second per request.
        "--formatters",
        "builtin",
        "--output",
        str(output),
    ]
    timeout = settings.HOOKHUB_DATAMODEL_CODEGEN_TIMEOUT
    return _run(command, timeout, workdir, output, "datamodel-code-generator")


def typescript_unavailable() -> str:
    """Why the TypeScript types can't be made on this server, or "" when they can."""
    if shutil.which(settings.HOOKHUB_NODE) is None:
        return (
            "TypeScript types can't be generated on this server: Node.js is not installed "
            f"(no `{settings.HOOKHUB_NODE}` found). The Python models and both receivers "
            "still work."
        )
    if not Path(settings.HOOKHUB_OPENAPI_TYPESCRIPT).is_file():
        return (
            "TypeScript types can't be generated on this server: openapi-typescript is not "
            "installed (`make` installs it into node_modules/ from package.json). The Python "
            "models and both receivers still work."
        )
    return ""


def _typescript_types(workdir: str, source: Path) -> Generated:
    unavailable = typescript_unavailable()
    if unavailable:
        return Generated(problem=unavailable)
    output = Path(workdir) / TYPESCRIPT_TYPES_FILE
    command = [
        shutil.which(settings.HOOKHUB_NODE) or settings.HOOKHUB_NODE,
        settings.HOOKHUB_OPENAPI_TYPESCRIPT,
        str(source),
        "--output",
        str(output),
        # `export type NewSubscriptionEvent = components["schemas"]["NewSubscriptionEvent"]`
        "--root-types",
        "--root-types-no-schema-prefix",
        "--root-types-keep-casing",
        # `{"type": "object"}` is any object, not one that must stay empty.
        "--empty-objects-unknown",
    ]
    timeout = settings.HOOKHUB_OPENAPI_TYPESCRIPT_TIMEOUT
    return _run(command, timeout, workdir, output, "openapi-typescript")


def generate(document: dict, type_names: list[str]) -> CatalogueCode:
    """Models and types for `type_names`' bodies."""
    model_names, cut = body_document(document, type_names)
    return _generate(model_names, cut)


def _generate(model_names: dict[str, str], cut: dict) -> CatalogueCode:
    with tempfile.TemporaryDirectory(prefix="hookhub-codegen-") as workdir:
        source = Path(workdir) / "hookhub-openapi.json"
        source.write_text(json.dumps(cut, indent=2), encoding="utf-8")
        # Both at once: a page waits for the slower one only (node starts in about 1 s).
        with ThreadPoolExecutor(max_workers=2) as pool:
            python = pool.submit(_python_models, workdir, source)
            typescript = pool.submit(_typescript_types, workdir, source)
            return CatalogueCode(model_names, python.result(), typescript.result())


# -- the receivers ----------------------------------------------------------------------------


def _sample_field(cut_schemas: dict, model_name: str) -> str:
    """A required field of `data` the snippets can print, or "" to print all of `data`."""
    data = (cut_schemas.get(model_name) or {}).get("properties", {}).get("data", {})
    for _ in range(10):  # follow a chain of component refs, never a cycle forever
        ref = data.get("$ref") if isinstance(data, dict) else None
        if not (isinstance(ref, str) and ref.startswith(COMPONENTS)):
            break
        data = cut_schemas.get(ref[len(COMPONENTS) :]) or {}
    if not isinstance(data, dict):
        return ""
    for name in data.get("required", []):
        if (
            isinstance(name, str)
            and _PLAIN_FIELD.match(name)
            and not keyword.iskeyword(name)
            and not name.startswith("model_")
            and name not in _BASEMODEL_NAMES
            and name in data.get("properties", {})
        ):
            return name
    return ""


def _receivers(type_name: str, model_name: str, field: str) -> tuple[str, str]:
    context = {
        "event_type": type_name,
        "model_name": model_name,
        "field": field,
        "python_module": PYTHON_MODELS_FILE.removesuffix(".py"),
        "typescript_module": "./" + TYPESCRIPT_TYPES_FILE.removesuffix(".ts"),
        "python_models_file": PYTHON_MODELS_FILE,
        "typescript_types_file": TYPESCRIPT_TYPES_FILE,
    }
    return (
        render_to_string("subscriptions/_receiver_typed_python.txt", context).strip() + "\n",
        render_to_string("subscriptions/_receiver_typed_node.txt", context).strip() + "\n",
    )


# -- cached entry points ----------------------------------------------------------------------


def _cache_key(scope: str) -> str:
    try:
        generator_version = importlib.metadata.version("datamodel-code-generator")
    except importlib.metadata.PackageNotFoundError:
        generator_version = "missing"
    parts = [
        CODE_REVISION,
        repr(catalogue_fingerprint()),
        generator_version,
        settings.HOOKHUB_NODE,
        settings.HOOKHUB_OPENAPI_TYPESCRIPT,
        typescript_unavailable(),
    ]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
    return f"hookhub:receiver-code:{digest}:{scope}"


def _cached(key: str, make):
    cache = caches[settings.HOOKHUB_RECEIVER_CODE_CACHE]
    result = cache.get(key)
    if result is None:
        result = make()
        if result is None:
            return None
        # A timeout may pass next time; a tool's verdict on the same document will not.
        if not (result.python.passing or result.typescript.passing):
            cache.set(key, result, settings.HOOKHUB_RECEIVER_CODE_CACHE_SECONDS)
    return result


def receiver_code(request: HttpRequest, type_name: str) -> ReceiverCode | None:
    """Models, types and receivers for one event type; None when the served document has
    no webhook of that name (unknown or archived)."""

    def make() -> ReceiverCode | None:
        document = served_document(request)
        if type_name not in (document.get("webhooks") or {}):
            return None
        model_names, cut = body_document(document, [type_name])
        made = _generate(model_names, cut)
        model_name = model_names[type_name]
        field = _sample_field(cut["components"]["schemas"], model_name)
        python_receiver, typescript_receiver = _receivers(type_name, model_name, field)
        return ReceiverCode(
            event_type=type_name,
            model_name=model_name,
            python=made.python,
            typescript=made.typescript,
            python_receiver=python_receiver,
            typescript_receiver=typescript_receiver,
        )

    # An unknown or archived name costs one query, not a look at the whole document.
    if not EventType.objects.filter(name=type_name, archived=False).exists():
        return None
    return _cached(_cache_key("type:" + type_name), make)


def catalogue_code(request: HttpRequest) -> CatalogueCode:
    """Models and types for every event type in the served document, in one module each:
    for receivers of all event types (an endpoint can subscribe to every type)."""

    def make() -> CatalogueCode:
        document = served_document(request)
        return generate(document, sorted(document.get("webhooks") or {}))

    return _cached(_cache_key("catalogue"), make)
