"""`greetcue dashboard tls`'s certificates (dashboard/tls.py): a TLS client that trusts only the
local authority accepts the server for each name and address it was made for and no other; the
authority is made once and kept, so phones trust it once; secrets are owner-only."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from dashboard.tls import MAX_SERVER_DAYS, TlsError, TlsFiles, fingerprint, make_tls

NAMES, ADDRESSES = ["counter-box", "counter-box.local"], ["192.168.1.10", "127.0.0.1"]


def handshake(files: TlsFiles, server_hostname: str) -> None:
    """A TLS handshake in memory: the server with its chain and key, a client trusting only
    ``files.ca`` and checking ``server_hostname``; raises ``ssl.SSLCertVerificationError``."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(files.cert, files.key)
    client = ssl.create_default_context(cafile=files.ca)
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    talker = client.wrap_bio(c_in, c_out, server_hostname=server_hostname)
    listener = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        done = 0
        for side in (talker, listener):
            try:
                side.do_handshake()
                done += 1
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if done == 2:
            return
    raise AssertionError("the handshake did not finish")


@pytest.fixture
def files(tmp_path: Path) -> TlsFiles:
    return make_tls(tmp_path / "tls", NAMES, ADDRESSES)


@pytest.mark.parametrize("reached_as", [*NAMES, *ADDRESSES])
def test_a_phone_trusting_the_authority_accepts_every_name_and_address(
    files: TlsFiles, reached_as: str
) -> None:
    handshake(files, reached_as)


@pytest.mark.parametrize("reached_as", ["other-box.local", "192.168.1.11"])
def test_a_name_or_address_it_was_not_made_for_is_refused(files: TlsFiles, reached_as: str) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(files, reached_as)


def test_the_authority_is_kept_when_the_server_certificate_is_made_again(
    files: TlsFiles, tmp_path: Path
) -> None:
    """A new address for the box: a new server certificate, the same authority, so the phones
    that trust it need nothing new."""
    before = fingerprint(files.ca)
    again = make_tls(tmp_path / "tls", NAMES, ["192.168.1.20"])
    assert files.new_ca and not again.new_ca
    assert fingerprint(again.ca) == before
    handshake(again, "192.168.1.20")


def test_secrets_are_owner_only_and_the_server_lives_no_longer_than_ios_accepts(
    files: TlsFiles,
) -> None:
    assert files.key.stat().st_mode & 0o777 == 0o600
    assert files.ca_key.stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificates(files.cert.read_bytes())[0]
    life = cert.not_valid_after_utc - datetime.now(UTC)
    assert life.days <= MAX_SERVER_DAYS


@pytest.mark.parametrize(
    ("names", "addresses", "days", "words"),
    [
        ([], [], 825, "at least one name or address"),
        (["box"], ["192.168.1.300"], 825, "192.168.1.300"),
        (["box"], [], 900, "at most|1 to 825"),
    ],
)
def test_bad_requests_say_what_to_give(
    tmp_path: Path, names: list[str], addresses: list[str], days: int, words: str
) -> None:
    with pytest.raises(TlsError, match=words):
        make_tls(tmp_path / "tls", names, addresses, days)


def test_a_broken_authority_is_not_replaced_silently(files: TlsFiles, tmp_path: Path) -> None:
    """Phones trust the old authority: a damaged key file is an error naming both files, never
    a new authority the phones do not know."""
    files.ca_key.write_text("not a key")
    with pytest.raises(TlsError, match=r"ca-key\.pem"):
        make_tls(tmp_path / "tls", NAMES, ADDRESSES)
