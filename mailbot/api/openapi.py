"""/api/v1/openapi.json: the OpenAPI 3 document, built by apispec from the operations
declared in views.py and the marshmallow schemas they validate with."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from mailbot.api import schemas, views
from mailbot.api.operations import OPERATIONS, Operation

SECURITY_SCHEME = "bearerToken"
COMPONENTS: tuple[type[Schema], ...] = (
    schemas.ContactOut,
    schemas.SenderOut,
    schemas.MessageOut,
    schemas.TicketOut,
    schemas.TicketPage,
    schemas.MessageList,
    schemas.TicketPatch,
    schemas.NewMessage,
    schemas.HandoffIn,
    schemas.HandoffOut,
    schemas.Problem,
)


def _component_name(schema: type[Schema] | Schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.removesuffix("Out")


def _operation(op: Operation) -> dict[str, Any]:
    doc: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
    if op.description:
        doc["description"] = op.description
    parameters: list[dict[str, Any]] = [
        {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
        for name in _path_parameters(op.path)
    ]
    if op.query is not None:
        parameters.append({"in": "query", "schema": op.query})
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None:
        doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
    doc["responses"] = {
        str(status): {
            "description": text,
            **({"content": {"application/json": {"schema": schema}}} if schema else {}),
        }
        for status, (text, schema) in sorted(op.all_responses.items())
    }
    doc["security"] = [{SECURITY_SCHEME: [op.scope]}] if op.scope else []
    return doc


def _path_parameters(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


@lru_cache(maxsize=1)
def openapi_spec() -> dict[str, Any]:
    assert views.bp is not None  # the operations register when views is imported
    spec = APISpec(
        title="mailbot",
        version="1.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_component_name)],
        info={
            "description": "Tickets and their messages. Authenticate with `Authorization: Bearer <token>`; "
            "tokens are made with `mailbot token create NAME --scope tickets:read,tickets:write` "
            "or on the panel's Tokens page."
        },
    )
    spec.components.security_scheme(
        SECURITY_SCHEME,
        {"type": "http", "scheme": "bearer", "description": "Scopes: tickets:read, tickets:write."},
    )
    for schema in COMPONENTS:
        spec.components.schema(_component_name(schema), schema=schema)
        one_of = getattr(schema, "REQUIRE_ONE_OF", ())
        if one_of:
            # marshmallow has no word for "at least one of these fields"; JSON Schema does.
            spec.components.schemas[_component_name(schema)]["anyOf"] = [{"required": [n]} for n in one_of]
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
