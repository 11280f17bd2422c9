"""Open an authenticated IMAP connection for a mailbox: TLS, STARTTLS or plain; password
or XOAUTH2."""

from __future__ import annotations

import ssl

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from mailbot.sources.oauth import access_token, forget_token
from mailbot.store.models import Mailbox
from mailbot.store.secrets import decrypt_secret

IMAP_TIMEOUT_SECONDS = 60


def connect_imap(mailbox: Mailbox, secret_key: str) -> IMAPClient:
    context = ssl.create_default_context()  # honours SSL_CERT_FILE for private CAs
    client = IMAPClient(
        mailbox.imap_host,
        port=mailbox.imap_port,
        ssl=mailbox.imap_security == "tls",
        ssl_context=context,
        timeout=IMAP_TIMEOUT_SECONDS,
    )
    try:
        if mailbox.imap_security == "starttls":
            client.starttls(context)
        secret = decrypt_secret(secret_key, mailbox.imap_secret)
        if mailbox.auth_method == "xoauth2":
            _oauth2_login(client, mailbox, secret)
        else:
            client.login(mailbox.imap_user, secret)
    except BaseException:
        _close_quietly(client)
        raise
    # Aware datetimes for INTERNALDATE: the acknowledgement cut-off compares them.
    client.normalise_times = False
    return client


def _oauth2_login(client: IMAPClient, mailbox: Mailbox, secret: str) -> None:
    provider = mailbox.oauth_provider or "static"
    try:
        client.oauth2_login(mailbox.imap_user, access_token(provider, secret))
    except LoginError:
        # A cached token may have been revoked before it expired: refresh once, then give up.
        forget_token(secret)
        client.oauth2_login(mailbox.imap_user, access_token(provider, secret))


def _close_quietly(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except Exception:  # the connection may already be gone
        pass
