"""Generate the PKI of a test control plane with the ``cryptography`` package."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class Pki:
    """Paths of the generated files (all PEM)."""

    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    sa_key: Path   # service-account signing key (private)
    sa_pub: Path   # and its public half, for verification


def _write_key(key, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _cert(subject, key, issuer, issuer_key, *, ca=False, server=False, sans=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False), critical=True)
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write_cert(cert, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def generate(directory: Path) -> Pki:
    """Create a CA, an apiserver serving cert for 127.0.0.1/localhost, an admin client
    cert (``O=system:masters``) and an RSA service-account signing key in ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    pki = Pki(*(d / n for n in ("ca.crt", "ca.key", "apiserver.crt", "apiserver.key",
                                "admin.crt", "admin.key", "sa.key", "sa.pub")))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("saturn-test-ca")
    _write_cert(_cert(ca_name, ca_key, ca_name, ca_key, ca=True), pki.ca_cert)
    _write_key(ca_key, pki.ca_key)

    sans = [x509.DNSName(n) for n in ("localhost", "kubernetes", "kubernetes.default",
                                      "kubernetes.default.svc",
                                      "kubernetes.default.svc.cluster.local")]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "10.0.0.1")]
    srv_key = ec.generate_private_key(ec.SECP256R1())
    _write_cert(_cert(_name("kube-apiserver"), srv_key, ca_name, ca_key, server=True, sans=sans),
                pki.serving_cert)
    _write_key(srv_key, pki.serving_key)

    adm_key = ec.generate_private_key(ec.SECP256R1())
    _write_cert(_cert(_name("saturn-admin", "system:masters"), adm_key, ca_name, ca_key),
                pki.admin_cert)
    _write_key(adm_key, pki.admin_key)

    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(sa_key, pki.sa_key)
    pki.sa_pub.write_bytes(sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return pki
