"""Self-signed TLS material for the throwaway servers used by tests and the demo.

The certificate is only ever trusted explicitly (a client builds an SSL context
from this very file), so a short-lived self-signed leaf is all we need.
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_FILENAME = "cert.pem"
KEY_FILENAME = "key.pem"


def make_self_signed_cert(directory: Path, hostname: str = "localhost") -> tuple[Path, Path]:
    """Write a self-signed certificate and its key into *directory*.

    Returns ``(cert_path, key_path)``. The certificate names *hostname*,
    ``localhost`` and ``127.0.0.1`` so clients can verify it whether they
    connect by name or by loopback address.
    """
    directory.mkdir(parents=True, exist_ok=True)
    # P-256 is accepted by every OpenSSL build Dovecot and Python link against and
    # is far quicker to generate than RSA, which matters for per-session fixtures.
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])

    dns_names = {hostname, "localhost"}
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in sorted(dns_names)]
    alt_names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))

    # Backdate a little: a clock skew of a few seconds between this process and
    # the verifier must not make a fresh certificate "not yet valid".
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        # A plain server-leaf profile: OpenSSL accepts a self-signed leaf as its
        # own trust anchor (cafile=...), and Python 3.13's VERIFY_X509_STRICT
        # default insists on key usage and key identifiers being present.
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )

    cert_path = directory / CERT_FILENAME
    key_path = directory / KEY_FILENAME
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path
