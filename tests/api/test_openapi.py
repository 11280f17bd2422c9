"""The OpenAPI document against the API it describes: schemathesis generates requests from
/api/v1/openapi.json (valid ones and invalid ones), sends them over real HTTP with a
real token, and checks every answer against the document: status codes, content types,
response bodies, 401 without the token, 4xx for what the document forbids, no 5xx."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.config import SchemathesisConfig

from mailbot.api.openapi import SECURITY_SCHEME
from tests.api.conftest import Api
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail

pytestmark = pytest.mark.slow


@pytest.fixture
def seeded_ref(desk: Desk, support: tuple[str, str]) -> str:
    """A real mail ticket, filed and acknowledged by the pipeline, for the generated
    requests to read, change and answer."""
    desk.dovecot.append(*support, customer_mail("openapi.1@mail.gmail.test"))
    desk.run()
    [ticket] = desk.tickets()
    return str(ticket["ref"])


# Per operation and mode: enough to reach every field and error, under a minute in all.
EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 25}


def test_the_api_answers_as_its_document_says(api: Api, seeded_ref: str) -> None:
    # Driven through hypothesis directly rather than schemathesis' pytest plugin, whose
    # lazy-schema wrapper does not run under pytest 9.2; the checks are the same ones.
    # The token goes in as the document's own bearer scheme, so schemathesis knows which
    # requests carry it and checks that the ones without it are refused.
    config = SchemathesisConfig.from_dict(
        {"auth": {"openapi": {SECURITY_SCHEME: {"bearer": api.tokens["both"]}}}}
    )
    schema = schemathesis.openapi.from_url(api.server.url("/api/v1/openapi.json"), config=config)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} == {
        ("GET", "/api/v1/tickets"),
        ("GET", "/api/v1/tickets/{ref}"),
        ("PATCH", "/api/v1/tickets/{ref}"),
        ("GET", "/api/v1/tickets/{ref}/messages"),
        ("POST", "/api/v1/tickets/{ref}/messages"),
        ("POST", "/api/v1/tickets/{ref}/handoff"),
    }
    for operation in operations:
        for mode, examples in EXAMPLES.items():
            strategy = operation.as_strategy(generation_mode=mode)
            if "{ref}" in operation.path:
                # Half the requests name the real ticket, so they reach past the 404.
                real = operation.as_strategy(generation_mode=mode, path_parameters={"ref": seeded_ref})
                strategy = st.one_of(strategy, real)

            @given(case=strategy)
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,  # no example database: each run draws afresh, within its bounds
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Case) -> None:
                case.call_and_validate()

            check()
