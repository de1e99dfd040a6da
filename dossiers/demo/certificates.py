"""The demo's certificate authority and agency certificates, clearly marked as demo (their
organisation reads "DEMO — không có giá trị pháp lý"), written where the signing configuration
expects them (ONESTOP_SIGNING_DIR: var/signing in development, outside git): the demo's
returned dossiers carry signed results and its verification page trusts the demo CA.

Idempotent: the CA and each agency's file are made once; a second run writes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings

from ..integrations import signing

DEMO_ORGANISATION = "DEMO — không có giá trị pháp lý"
CA_NAME = "onestop DEMO Root CA (không có giá trị pháp lý)"
CA_DIR = "demo-ca"  # under ONESTOP_SIGNING_DIR: the demo CA's own key and certificate
TRUST_FILE = "demo-ca.pem"  # under ONESTOP_SIGNING_DIR/trust/


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEMO_ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if private:
        os.chmod(path, 0o600)


def _root(directory: Path, now: dt.datetime):
    key_file, cert_file = directory / CA_DIR / "ca-key.pem", directory / CA_DIR / "ca.pem"
    if key_file.is_file() and cert_file.is_file():
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        return key, x509.load_pem_x509_certificate(cert_file.read_bytes()), False
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(CA_NAME)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=3 * 365))
        .not_valid_after(now + dt.timedelta(days=10 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    _write(
        key_file,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        private=True,
    )
    _write(cert_file, pem)
    return key, certificate, True


def ensure(agencies, log=print) -> int:
    """The demo CA (trusted by the verification page) and a certificate for each agency that
    has none. Returns how many files were written (0 on a second run)."""
    configured = getattr(settings, "ONESTOP_SIGNING_DIR", "")
    if not configured:
        log("Signing: ONESTOP_SIGNING_DIR is not set; the demo's results stay unsigned.")
        return 0
    directory = Path(configured)
    now = dt.datetime.now(dt.UTC)
    ca_key, ca_certificate, made = _root(directory, now)
    written = int(made)
    trust = directory / "trust" / TRUST_FILE
    ca_pem = ca_certificate.public_bytes(serialization.Encoding.PEM)
    if not trust.is_file() or trust.read_bytes() != ca_pem:
        _write(trust, ca_pem)
        written += 1
    passphrase = (getattr(settings, "ONESTOP_SIGNING_PASSPHRASE", "") or "").encode()
    for agency in agencies:
        path = signing.key_path(agency)
        if path.is_file():
            continue
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(f"{agency.name} (DEMO)"))
            .issuer_name(ca_certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=2 * 365))
            .not_valid_after(now + dt.timedelta(days=5 * 365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(ca=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        encryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        _write(
            path,
            pkcs12.serialize_key_and_certificates(
                name=agency.code.encode(),
                key=key,
                cert=certificate,
                cas=[ca_certificate],
                encryption_algorithm=encryption,
            ),
            private=True,
        )
        written += 1
    if written:
        signing.forget_cached()
        log(f"Signing: demo CA and agency certificates in {directory} ({written} files written).")
    return written
