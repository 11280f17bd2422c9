"""Acknowledgement templates: preview, syntax check before saving, and the override used
by render_ack_from_store (what the pipeline sends)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from mailbot.ack_templates import SAMPLE_CONTEXT, render_ack_from_store
from tests.panel.conftest import post

GOOD = (
    "{% block subject %}Re: {{ subject }} [{{ ref }}]{% endblock %}\n"
    "{% block body %}Hi {{ name }}!{% endblock %}\n"
)


def test_editor_shows_default_and_preview(agent_client: FlaskClient) -> None:
    page = agent_client.get("/templates/en").get_data(as_text=True)
    assert "{% block subject %}" in page
    assert 'id="preview-subject">[#MB-7K3Q9P] My order #1234 has not arrived<' in page
    assert "template_preview.js" in page
    listing = agent_client.get("/templates").get_data(as_text=True)
    assert ">en</a>" in listing and ">de</a>" in listing


def test_preview_without_saving(admin_client: FlaskClient, session: Session) -> None:
    page = post(admin_client, "/templates/en", {"source": GOOD, "action": "preview"}).get_data(as_text=True)
    assert "Re: My order #1234 has not arrived [MB-7K3Q9P]" in page
    fragment = post(admin_client, "/templates/en/preview", {"source": GOOD}).get_data(as_text=True)
    assert "Hi Ana!" in fragment and "<html" not in fragment
    assert render_ack_from_store(session, "en", SAMPLE_CONTEXT)[0].startswith("[#MB-7K3Q9P]")


def test_syntax_errors_are_refused_before_saving(admin_client: FlaskClient, session: Session) -> None:
    for source, reason in [
        ("{% block subject %}{{ ref }{% endblock %}{% block body %}x{% endblock %}", "line 1"),
        ("{% block subject %}x{% endblock %}", "missing block"),
        ("{% block subject %}{{ order_no }}{% endblock %}{% block body %}x{% endblock %}", "order_no"),
        (
            "{% block subject %}{{ ''.__class__.__mro__ }}{% endblock %}{% block body %}x{% endblock %}",
            "unsafe",
        ),
    ]:
        response = post(admin_client, "/templates/en", {"source": source, "action": "save"})
        assert response.status_code == 422, source
        assert "Not saved" in response.get_data(as_text=True)
        assert reason in response.get_data(as_text=True)
    assert render_ack_from_store(session, "en", SAMPLE_CONTEXT)[0].startswith("[#MB-7K3Q9P]")


def test_saved_template_is_used_for_acknowledgements_and_audited(
    admin_client: FlaskClient, session: Session
) -> None:
    assert post(admin_client, "/templates/en", {"source": GOOD, "action": "save"}).status_code == 302
    subject, body = render_ack_from_store(session, "en", {**SAMPLE_CONTEXT, "ref": "MB-REAL01"})
    session.commit()
    assert subject == "Re: My order #1234 has not arrived [MB-REAL01]"
    assert body == "Hi Ana!\n"
    audit = admin_client.get("/audit").get_data(as_text=True)
    assert "ack_template.update" in audit and "Re: {{ subject }}" in audit
    assert post(admin_client, "/templates/en/reset").status_code == 302
    subject, _ = render_ack_from_store(session, "en", SAMPLE_CONTEXT)
    assert subject == "[#MB-7K3Q9P] My order #1234 has not arrived"


def test_a_new_language_can_be_added(admin_client: FlaskClient, session: Session) -> None:
    response = post(admin_client, "/templates/new", {"language": "nl"})
    assert response.headers["Location"] == "/templates/nl"
    assert "Thank you for writing" in admin_client.get("/templates/nl").get_data(as_text=True)
    post(admin_client, "/templates/nl", {"source": GOOD.replace("Hi", "Hallo"), "action": "save"})
    assert render_ack_from_store(session, "nl", SAMPLE_CONTEXT)[1] == "Hallo Ana!\n"
    session.commit()
    assert ">nl</a>" in admin_client.get("/templates").get_data(as_text=True)
    assert post(admin_client, "/templates/new", {"language": "<x>"}).status_code == 302
