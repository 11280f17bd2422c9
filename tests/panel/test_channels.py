"""Channels in the panel: add, edit keeping secrets, never show them, roles, audit, test."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.channels import ChannelSpec, add_channel
from mailbot.devservers.platform_api import PlatformApi
from mailbot.store.models import Channel
from mailbot.store.panel_models import AuditEntry
from mailbot.store.secrets import decrypt_secret
from tests.panel.conftest import SECRET_KEY, post

SLACK = {"type": "slack", "name": "help", "secret": "slack-signing-secret-1", "token": "xoxb-token-value-9"}


def _channel(session: Session, name: str) -> Channel:
    session.expire_all()
    channel = session.scalar(select(Channel).where(Channel.name == name))
    session.commit()
    assert channel is not None
    return channel


def test_add_edit_and_delete_a_channel_keeping_secrets(admin_client: FlaskClient, session: Session) -> None:
    response = post(admin_client, "/channels/new", {**SLACK, "options": "groups=mentions\nbot_user_id=U0BOT"})
    assert response.status_code == 302, response.get_data(as_text=True)
    channel = _channel(session, "help")
    assert decrypt_secret(SECRET_KEY, channel.secret) == "slack-signing-secret-1"
    page = admin_client.get(f"/channels/{channel.id}").get_data(as_text=True)
    assert "/webhooks/slack/help" in page  # the URL to paste into Slack
    assert "slack-signing-secret-1" not in page and "xoxb-token-value-9" not in page

    response = post(admin_client, f"/channels/{channel.id}", {"options": "groups=all", "enabled": "1"})
    assert response.status_code == 302
    channel = _channel(session, "help")
    assert decrypt_secret(SECRET_KEY, channel.secret) == "slack-signing-secret-1"  # empty field kept it
    assert decrypt_secret(SECRET_KEY, channel.token) == "xoxb-token-value-9"
    assert '"groups": "all"' in channel.options
    actions = [a.action for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    session.commit()
    assert actions[-2:] == ["channel.create", "channel.update"]
    assert all("signing-secret" not in (a.after or "") for a in session.scalars(select(AuditEntry)))
    session.commit()

    assert post(admin_client, f"/channels/{channel.id}/delete").status_code == 302
    assert admin_client.get("/channels").get_data(as_text=True).count("/webhooks/slack/help") == 0


def test_invalid_channels_are_explained(admin_client: FlaskClient) -> None:
    missing = post(admin_client, "/channels/new", {"type": "slack", "name": "x"})
    assert missing.status_code == 422 and "needs --secret" in missing.get_data(as_text=True)
    bad = post(admin_client, "/channels/new", {**SLACK, "options": "colour=blue"})
    assert bad.status_code == 422 and "unknown option" in bad.get_data(as_text=True)


def test_agents_see_channels_but_cannot_change_them(agent_client: FlaskClient, sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        add_channel(session, ChannelSpec("slack", "help", secret="s3cret-xyz"), SECRET_KEY)
    with sessions() as session:
        channel = _channel(session, "help")
    assert "help" in agent_client.get("/channels").get_data(as_text=True)
    assert post(agent_client, "/channels/new", {**SLACK, "name": "other"}).status_code == 403
    assert post(agent_client, f"/channels/{channel.id}/delete").status_code == 403


def test_the_connection_test_shows_the_platforms_answer(admin_client: FlaskClient, session: Session) -> None:
    with PlatformApi() as api:
        post(admin_client, "/channels/new", {**SLACK, "api_base": api.base("slack")})
        channel = _channel(session, "help")
        page = post(admin_client, f"/channels/{channel.id}/test").get_data(as_text=True)
    assert f"{api.base('slack')} answered HTTP" in page  # the server's own answer, shown


def test_a_verify_token_is_never_shown_and_kept_unless_replaced(
    admin_client: FlaskClient, session: Session
) -> None:
    form = {"type": "whatsapp", "name": "wa", "secret": "meta-app-secret-1", "token": "page-token-2"}
    response = post(
        admin_client, "/channels/new", {**form, "options": "phone_number_id=1555\nverify_token=vt-secret-3"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    channel = _channel(session, "wa")
    page = admin_client.get(f"/channels/{channel.id}").get_data(as_text=True)
    assert "vt-secret-3" not in page and "verify_token=(kept)" in page
    assert "vt-secret-3" not in admin_client.get("/audit").get_data(as_text=True)

    # The form sent back as shown keeps it; a new value replaces it.
    post(admin_client, f"/channels/{channel.id}", {"options": "phone_number_id=1555\nverify_token=(kept)"})
    assert '"verify_token": "vt-secret-3"' in _channel(session, "wa").options
    post(admin_client, f"/channels/{channel.id}", {"options": "phone_number_id=1555\nverify_token=vt-new-4"})
    assert '"verify_token": "vt-new-4"' in _channel(session, "wa").options
