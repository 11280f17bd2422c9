"""One declaration per API operation: its route, its scope, its inputs and its answers.

`@operation(...)` registers the view on the blueprint, checks the bearer token and its
scope, validates the query string and the JSON body with the operation's schemas, and
records all of it for the OpenAPI document (openapi.py), so the document cannot
describe an operation other than the one served.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from flask import Blueprint, Response, abort, g, jsonify, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import HTTPException

from mailbot.api.tokens import find_token
from mailbot.web.store import db

bp = Blueprint("api", __name__, url_prefix="/api/v1")

REALM = 'Bearer realm="mailbot"'
# RFC 6750 section 2.1: credentials = "Bearer" 1*SP b64token; the scheme name is
# case-insensitive (RFC 9110 section 11.1).
_BEARER = re.compile(r"^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*) *$")


@dataclass(frozen=True)
class Operation:
    method: str  # lower case, as OpenAPI writes it
    path: str  # the OpenAPI path: /api/v1/tickets/{ref}
    operation_id: str
    summary: str
    description: str
    scope: str | None  # None: no token needed
    query: type[Schema] | None
    body: type[Schema] | None
    # status -> (description, response schema or None)
    responses: dict[int, tuple[str, type[Schema] | None]] = field(default_factory=dict)

    @property
    def all_responses(self) -> dict[int, tuple[str, type[Schema] | None]]:
        from mailbot.api.schemas import Problem

        implied: dict[int, tuple[str, type[Schema] | None]] = {}
        if self.body is not None:
            implied[400] = ("The body is not a JSON object.", Problem)
        if self.scope is not None:
            implied[401] = ("No token, or not a valid one.", Problem)
            implied[403] = (f"The token lacks the scope {self.scope}.", Problem)
        if self.query is not None or self.body is not None:
            implied[422] = ("A parameter or a field is not valid; `details` says which and why.", Problem)
        return {**implied, **self.responses}


OPERATIONS: list[Operation] = []


def problem(
    status: int, error: str, message: str, *, details: Any = None, headers: dict[str, str] | None = None
) -> NoReturn:
    """Stop the request with a JSON error body (schemas.Problem)."""
    body: dict[str, Any] = {"error": error, "message": message}
    if details is not None:
        body["details"] = details
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    abort(response)


def problem_for(error: HTTPException) -> Response:
    """A routing error (404, 405) or an unexpected one under /api/, as JSON, keeping the
    headers that go with it (a 405's Allow, RFC 9110 section 15.5.6)."""
    code = error.code or 500
    response = jsonify(
        {"error": (error.name or "error").lower().replace(" ", "_"), "message": error.description or ""}
    )
    response.status_code = code
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _authenticate(scope: str) -> None:
    header = request.headers.get("Authorization")
    if not header:
        problem(
            401,
            "unauthorized",
            "Send a token: Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": REALM},
        )
    match = _BEARER.match(header or "")
    row = find_token(db(), match.group(1)) if match else None
    if row is None:
        problem(
            401,
            "invalid_token",
            "The token is not valid (mistyped, or revoked).",
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )
    if scope not in row.scope_set:
        problem(
            403,
            "insufficient_scope",
            f"This token lacks the scope {scope}.",
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{scope}"'},
        )
    g.api_token = row


def _load_query(schema: type[Schema]) -> dict[str, Any]:
    try:
        return schema().load(request.args.to_dict(flat=True))
    except ValidationError as error:
        problem(422, "invalid_parameters", "A query parameter is not valid.", details=error.messages)


def _load_body(schema: type[Schema]) -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        problem(400, "invalid_body", "The body must be a JSON object (Content-Type: application/json).")
    try:
        return schema().load(data)
    except ValidationError as error:
        problem(422, "invalid_fields", "A field is not valid.", details=error.messages)


def operation(
    method: str,
    path: str,
    *,
    summary: str,
    description: str = "",
    scope: str | None,
    query: type[Schema] | None = None,
    body: type[Schema] | None = None,
    responses: dict[int, tuple[str, type[Schema] | None]],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        OPERATIONS.append(
            Operation(
                method=method.lower(),
                path=path,
                operation_id=view.__name__,
                summary=summary,
                description=description,
                scope=scope,
                query=query,
                body=body,
                responses=responses,
            )
        )

        @functools.wraps(view)
        def wrapped(**kwargs: Any) -> Any:
            if scope is not None:
                _authenticate(scope)
            if query is not None:
                kwargs["query"] = _load_query(query)
            if body is not None:
                kwargs["body"] = _load_body(body)
            result = view(**kwargs)
            db().commit()  # the token's last use, if nothing else
            return result

        rule = re.sub(r"\{(\w+)\}", r"<\1>", path.removeprefix(bp.url_prefix or ""))
        bp.add_url_rule(rule or "/", endpoint=view.__name__, view_func=wrapped, methods=[method.upper()])
        return wrapped

    return register
