"""Test certificates made with the `openssl` command line: a CA, a server certificate for
127.0.0.1 / localhost, and client certificates, plus an unrelated CA for negative cases.

Keys are P-256 EC keys (fast to make) without a passphrase; everything is valid for one day.
`make_pki(directory)` returns a `Pki` naming the PEM files; it raises `pytest.skip` when
`openssl` is not on PATH.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
"""
CLIENT_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
"""


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    ca: KeyPair  # the CA the server's certificate and the good client certificate come from
    server: KeyPair  # for 127.0.0.1 and localhost, signed by `ca`
    client: KeyPair  # signed by `ca`
    other_ca: KeyPair  # an unrelated CA, with the same subject name as `ca`
    other_client: KeyPair  # signed by `other_ca`


def _openssl(*args: str | Path) -> None:
    result = subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, timeout=30
    )
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed:\n{result.stderr}")


_EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def make_ca(directory: Path, stem: str, subject: str) -> KeyPair:
    pair = KeyPair(directory / f"{stem}.pem", directory / f"{stem}.key")
    _openssl(
        "req",
        "-x509",
        *_EC_KEY,
        "-days",
        "1",
        "-subj",
        subject,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout",
        pair.key,
        "-out",
        pair.cert,
    )
    return pair


def make_leaf(directory: Path, stem: str, subject: str, ca: KeyPair, extensions: str) -> KeyPair:
    """A key and a certificate for it, signed by `ca`, with `extensions` (openssl syntax)."""
    pair = KeyPair(directory / f"{stem}.pem", directory / f"{stem}.key")
    request, ext_file = directory / f"{stem}.csr", directory / f"{stem}.ext"
    ext_file.write_text(extensions)
    _openssl("req", "-new", *_EC_KEY, "-subj", subject, "-keyout", pair.key, "-out", request)
    _openssl(
        "x509",
        "-req",
        "-in",
        request,
        "-CA",
        ca.cert,
        "-CAkey",
        ca.key,
        "-set_serial",
        str(secrets.randbits(63)),
        "-days",
        "1",
        "-extfile",
        ext_file,
        "-out",
        pair.cert,
    )
    return pair


def make_pki(directory: Path) -> Pki:
    """Every certificate the TLS tests use, under `directory` (created if need be)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line is needed to make test certificates")
    directory.mkdir(parents=True, exist_ok=True)
    ca = make_ca(directory, "ca", "/CN=gatelearn test CA")
    other_ca = make_ca(directory, "other-ca", "/CN=gatelearn test CA")
    return Pki(
        ca=ca,
        server=make_leaf(directory, "server", "/CN=localhost", ca, SERVER_EXTENSIONS),
        client=make_leaf(directory, "client", "/CN=gatelearn test client", ca, CLIENT_EXTENSIONS),
        other_ca=other_ca,
        other_client=make_leaf(
            directory, "other-client", "/CN=gatelearn test client", other_ca, CLIENT_EXTENSIONS
        ),
    )
