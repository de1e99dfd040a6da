"""A certificate authority made by the tests (and a timestamp authority on loopback), for the
signed results: a root CA, agency certificates it issues as PKCS#12 files where the signing
configuration expects them, and an RFC 3161 timestamp server in a thread.

Reusable: `signing_ca` (fixture) gives a `TestCA` whose root the settings trust and which
`issue_for(agency)`; `timestamp_authority` serves `DummyTimeStamper` over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PASSPHRASE = "test-signing-passphrase"  # nosec B105 (the tests' own keys)


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass
class Issued:
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


class TestCA:
    """A root CA: issues agency (signing) and timestamping certificates."""

    __test__ = False  # not a test class

    def __init__(self, name: str = "Onestop Test Root CA", *, now: dt.datetime | None = None):
        self.now = now or dt.datetime.now(dt.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(name, "Onestop tests")
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - dt.timedelta(days=3650))
            .not_valid_after(self.now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        self.root = Issued(key, certificate)

    def issue(
        self,
        common_name: str,
        organisation: str,
        *,
        timestamping: bool = False,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        crl_url: str = "",
    ) -> Issued:
        # pyHanko's DummyTimeStamper signs with RSA only.
        key = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if timestamping
            else ec.generate_private_key(ec.SECP256R1())
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, organisation))
            .issuer_name(self.root.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or self.now - dt.timedelta(days=1000))
            .not_valid_after(not_after or self.now + dt.timedelta(days=1000))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=not timestamping,
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
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.root.key.public_key()),
                False,
            )
        )
        if crl_url:  # where its CA's revocation list is published (read offline from trust/)
            builder = builder.add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [x509.UniformResourceIdentifier(crl_url)], None, None, None
                        )
                    ]
                ),
                critical=False,
            )
        if timestamping:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
        return Issued(key, builder.sign(self.root.key, hashes.SHA256()))

    def pkcs12(self, issued: Issued, passphrase: str = PASSPHRASE) -> bytes:
        """The key, its certificate and the chain (the root) in one PKCS#12 file."""
        return pkcs12.serialize_key_and_certificates(
            name=b"signing",
            key=issued.key,
            cert=issued.certificate,
            cas=[self.root.certificate],
            encryption_algorithm=serialization.BestAvailableEncryption(passphrase.encode()),
        )

    def install(self, directory: Path, agency, **kwargs) -> Issued:
        """An agency certificate, written where the signing configuration looks for it
        (`<ONESTOP_SIGNING_DIR>/<agency code>.p12`)."""
        issued = self.issue(
            f"{agency.name} (test)", kwargs.pop("organisation", agency.name), **kwargs
        )
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{agency.code}.p12").write_bytes(self.pkcs12(issued))
        return issued

    def trust(self, directory: Path, name: str = "test-root.pem") -> Path:
        path = directory / "trust" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.root.pem)
        return path


@pytest.fixture
def signing_ca(tmp_path, settings) -> TestCA:
    """A test CA whose root the settings trust; `signing_ca.dir` is ONESTOP_SIGNING_DIR."""
    from dossiers.integrations import signing

    ca = TestCA()
    ca.dir = tmp_path / "signing"
    ca.trust(ca.dir)
    settings.ONESTOP_SIGNING_DIR = str(ca.dir)
    settings.ONESTOP_SIGNING_PASSPHRASE = PASSPHRASE
    settings.ONESTOP_SIGNING_TSA_URL = ""
    signing.forget_cached()
    yield ca
    signing.forget_cached()


@pytest.fixture
def timestamp_authority(signing_ca, settings):
    """An RFC 3161 timestamp authority over HTTP on 127.0.0.1 (pyHanko's DummyTimeStamper signs
    the tokens with a timestamping certificate of the test CA); its URL is configured."""
    from asn1crypto import tsp
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.sign.timestamps import DummyTimeStamper

    issued = signing_ca.issue("Onestop Test TSA", "Onestop tests", timestamping=True)
    key_pem = issued.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    stamper = DummyTimeStamper(
        tsa_cert=next(iter(load_certs_from_pemder_data(issued.pem))),
        tsa_key=load_private_key_from_pemder_data(key_pem, None),
        certs_to_embed=list(load_certs_from_pemder_data(signing_ca.root.pem)),
    )
    served = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            request = tsp.TimeStampReq.load(body)
            answer = stamper.request_tsa_response(request).dump()
            served.append(request)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ONESTOP_SIGNING_TSA_URL = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    server.served = served
    yield server
    server.shutdown()
    server.server_close()
