"""The REST API under /api/v1: tickets and their messages for helpdesks, CRMs and scripts.

tokens.py makes and checks the bearer tokens, schemas.py holds the one definition of
every request and response shape (it validates requests and feeds the OpenAPI
document), operations.py ties each view to its scope and its document entry,
views.py serves them and openapi.py builds /api/v1/openapi.json.
"""

# Every API path starts so: the panel's login, CSRF check and HTML error pages stay off it.
API_PATH = "/api/"
