"""HTTPS on the store LAN without a public domain: a certificate authority of the store's own,
made once, and a server certificate it signs for the box's names and addresses.

Phones trust the authority once (the dashboard's ``/trust`` page offers it, with the steps for
Android and iOS); the server certificate can then be renewed or re-issued for a new address
without touching the phones again, as long as the authority is kept. Browsers need a secure
context (HTTPS) for a service worker, notifications and Web Push.

Files, in the folder given (owner-only where secret): ``ca.pem`` (the authority's certificate:
public, what phones install), ``ca-key.pem`` (its key: secret, kept to sign renewals),
``server.pem`` (the server certificate followed by the authority's: ``listen.tls_cert``) and
``server-key.pem`` (``listen.tls_key``).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_YEARS = 10
# Apple refuses TLS server certificates valid for longer than 825 days, even from a private CA.
MAX_SERVER_DAYS = 825
CLOCK_SLACK = timedelta(hours=1)  # valid from a little before now: a phone's clock may lag


class TlsError(ValueError):
    """The certificate files cannot be made as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The files made (see the module docstring), and whether the authority was new."""

    ca: Path
    ca_key: Path
    cert: Path
    key: Path
    new_ca: bool


def make_tls(
    folder: Path,
    names: list[str],
    addresses: list[str],
    days: int = MAX_SERVER_DAYS,
    now: datetime | None = None,
) -> TlsFiles:
    """A server certificate for ``names`` (DNS) and ``addresses`` (IP), signed by the folder's
    authority, made first if the folder has none."""
    if not names and not addresses:
        raise TlsError("give at least one name or address the phones reach the dashboard at")
    if not 1 <= days <= MAX_SERVER_DAYS:
        raise TlsError(f"--days must be 1 to {MAX_SERVER_DAYS} (iOS refuses longer), got {days}")
    try:
        ips = [ipaddress.ip_address(a) for a in addresses]
    except ValueError as exc:
        raise TlsError(f"{exc}: give addresses as numbers, e.g. 192.168.1.10") from None
    now = now or datetime.now(UTC)
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        folder / "ca.pem",
        folder / "ca-key.pem",
        folder / "server.pem",
        folder / "server-key.pem",
        False,
    )
    if files.ca.exists() and files.ca_key.exists():
        ca_cert, ca_key = _load_ca(files)
    else:
        ca_cert, ca_key = _new_ca(names[0] if names else str(ips[0]), now)
        _write_secret(files.ca_key, _key_pem(ca_key))
        files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        files = TlsFiles(files.ca, files.ca_key, files.cert, files.key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    sans += [x509.IPAddress(ip) for ip in ips]
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else str(ips[0]))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SLACK)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_usage(signing=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_secret(files.key, _key_pem(key))
    chain = cert.public_bytes(serialization.Encoding.PEM)
    files.cert.write_bytes(chain + ca_cert.public_bytes(serialization.Encoding.PEM))
    return files


def host_names() -> list[str]:
    """This box's names phones may use: its host name, the same on mDNS (``.local``, which
    Android and iOS resolve on a store LAN) and ``localhost``."""
    host = socket.gethostname().split(".")[0]
    return [n for n in dict.fromkeys([host, f"{host}.local", "localhost"]) if n]


def host_addresses() -> list[str]:
    """This box's LAN address (the one its default route leaves by) and 127.0.0.1."""
    found = ["127.0.0.1"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:  # a UDP "connection" sends nothing; it only picks the outgoing address
            probe.connect(("192.0.2.1", 9))
            found.insert(0, probe.getsockname()[0])
        except OSError:  # no route: the box is alone
            pass
    return list(dict.fromkeys(found))


def ca_der(path: Path) -> bytes:
    """The authority's certificate in DER, the form phones install from a download."""
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.public_bytes(serialization.Encoding.DER)


def fingerprint(path: Path) -> str:
    """SHA-256 fingerprint of a PEM certificate, as phones show it (AA:BB:...)."""
    digest = x509.load_pem_x509_certificate(path.read_bytes()).fingerprint(hashes.SHA256())
    return ":".join(f"{b:02X}" for b in digest)


def _new_ca(label: str, now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "greetcue"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"greetcue local CA ({label})"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SLACK)
        .not_valid_after(now + timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(signing=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _load_ca(files: TlsFiles) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate(files.ca.read_bytes())
        key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise TlsError(
            f"{files.ca} or {files.ca_key} does not load ({exc}); move both away to make a new "
            "authority (every phone must then trust the new one)"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise TlsError(f"{files.ca_key} is not the key of {files.ca}; restore the matching pair")
    return cert, key


def _usage(signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not signing,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signing,
        crl_sign=signing,
        encipher_only=False,
        decipher_only=False,
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_secret(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only (created so, never briefly world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    path.chmod(0o600)
