"""Test certificates made with openssl: a CA, a broker certificate for 127.0.0.1 (IP and DNS names, so
hostname verification holds), a client certificate for mutual TLS, and a second CA nobody trusts."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certs:
    ca: Path  # the CA's certificate (what clients and the broker trust)
    other_ca: Path  # a CA that signed nothing capmon meets
    broker: Path  # the broker's PKCS#8 key and certificate chain, one PEM file (Kafka's PEM keystore)
    client_cert: Path
    client_key: Path
    wrong_host: Path  # a broker key and certificate for another host name (hostname verification must refuse it)


def _openssl(*args: str | Path, cwd: Path) -> None:
    done = subprocess.run(["openssl", *map(str, args)], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.strip()[-400:]}")


def _ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
             "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
    return key, cert


def _signed(folder: Path, name: str, ca: tuple[Path, Path], extensions: str) -> tuple[Path, Path]:
    key, csr, cert, ext = (folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.pem",
                           folder / f"{name}.ext")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={name}", cwd=folder)
    ext.write_text(extensions)
    _openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-CAcreateserial", "-out", cert,
             "-days", "2", "-extfile", ext, cwd=folder)
    return key, cert


def make_certs(folder: Path) -> Certs:
    folder.mkdir(parents=True, exist_ok=True)
    ca = _ca(folder, "capmon-test-ca")
    other = _ca(folder, "other-ca")
    server = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    broker_key, broker_cert = _signed(folder, "broker", ca, server)
    wrong_key, wrong_cert = _signed(folder, "elsewhere", ca, "subjectAltName=DNS:kafka.elsewhere.example\n")
    client_key, client_cert = _signed(folder, "capmon-client", ca, "extendedKeyUsage=clientAuth\n")
    return Certs(ca=ca[1], other_ca=other[1], broker=_keystore(folder / "broker-keystore.pem", broker_key,
                                                                broker_cert, ca[1]),
                 client_cert=client_cert, client_key=client_key,
                 wrong_host=_keystore(folder / "elsewhere-keystore.pem", wrong_key, wrong_cert, ca[1]))


def _keystore(path: Path, key: Path, cert: Path, ca: Path) -> Path:
    """Kafka's PEM keystore: an unencrypted PKCS#8 key, then the certificate chain."""
    pkcs8 = path.with_suffix(".key8")
    _openssl("pkcs8", "-topk8", "-nocrypt", "-in", key, "-out", pkcs8, cwd=path.parent)
    path.write_text(pkcs8.read_text() + cert.read_text() + ca.read_text())
    return path
