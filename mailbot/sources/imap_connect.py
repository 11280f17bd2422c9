"""Open an authenticated IMAP connection for a mailbox: TLS, STARTTLS or plain; password
or XOAUTH2."""

from __future__ import annotations

import ssl

from imapclient import IMAPClient

from mailbot.sources.oauth import access_token
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
            client.oauth2_login(mailbox.imap_user, access_token(mailbox.oauth_provider or "static", secret))
        else:
            client.login(mailbox.imap_user, secret)
    except BaseException:
        _close_quietly(client)
        raise
    # Aware datetimes for INTERNALDATE: the acknowledgement cut-off compares them.
    client.normalise_times = False
    return client


def _close_quietly(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except Exception:  # the connection may already be gone
        pass
