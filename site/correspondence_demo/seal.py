"""The demo's organisation seal: a throwaway certificate authority and a seal certificate it
issued, made by ``correspondence_demo`` in ``DEMO_SEAL_DIR`` (settings/dev.py). Letters the
demo generates are sealed with it. Never use it for real letters: its passphrase is public.

Imported by the settings, so it uses nothing of Django.
"""

import datetime
from pathlib import Path

PASSPHRASE = "correspondence-demo"
SEAL_FILE = "seal.p12"
CA_FILE = "demo-ca.pem"


def settings_for(folder):
    """The PDF_SEAL setting of the demo seal in ``folder``, or None until it is made."""
    folder = Path(folder)
    if not (folder / SEAL_FILE).exists():
        return None
    return {"PKCS12": str(folder / SEAL_FILE), "PASSPHRASE": PASSPHRASE, "TRUST_ROOTS": [str(folder / CA_FILE)],
            "REASON": "Demo seal: not a real organisation's"}


def create(folder, organisation):
    """Make the demo CA and seal certificate in ``folder`` unless they exist; True if made."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    folder = Path(folder)
    if (folder / SEAL_FILE).exists():
        return False
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)

    def name(common_name):
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                          x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def certificate(subject, key, issuer, issuer_key, ca):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=3 * 365))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(
                    digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca, encipher_only=False,
                    decipher_only=False), critical=True)
                .sign(issuer_key, hashes.SHA256()))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name(f"{organisation} demo CA")
    ca = certificate(ca_name, ca_key, ca_name, ca_key, ca=True)
    seal_key = ec.generate_private_key(ec.SECP256R1())
    seal = certificate(name(f"{organisation} seal (demo)"), seal_key, ca_name, ca_key, ca=False)
    (folder / CA_FILE).write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    bundle = pkcs12.serialize_key_and_certificates(b"demo seal", seal_key, seal, [ca],
                                                   serialization.BestAvailableEncryption(PASSPHRASE.encode()))
    (folder / SEAL_FILE).write_bytes(bundle)
    (folder / SEAL_FILE).chmod(0o600)
    return True
