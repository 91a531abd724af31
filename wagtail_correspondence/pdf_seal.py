"""The organisation's seal on outgoing PDFs: a PAdES signature (pyHanko) with the certificate
and key of ``WAGTAIL_CORRESPONDENCE["PDF_SEAL"]``, and its verification.

The key is read from its file (PKCS#12, or PEM key and certificate), never from the
database. A letter is sealed once its PDF is final and before it is stored, archived or
sent (``services/letters.py``, the batch pipeline): every copy is the sealed one. An emailed
copy protected by a password is a new file (encryption rewrites it), so it is sealed again
after encryption (``delivery/email.py``).

Verification (``check_seal``) never fetches anything: the trust roots are the settings'
(``TRUST_ROOTS``, else the top of the configured chain, else the certificate itself), and
revocation is not checked (no CRL or OCSP traffic leaves the machine).
"""

import asyncio
import functools
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from .conf import get_setting

SETTING_KEYS = {"PKCS12", "PASSPHRASE", "PASSPHRASE_ENV", "KEY", "CERTIFICATE", "CHAIN", "TRUST_ROOTS",
                "FIELD_NAME", "REASON", "LOCATION", "VISIBLE"}
DEFAULT_FIELD_NAME = "OrganisationSeal"
# Room for the CMS signature beyond the certificates it carries (the signature value, signed
# attributes, algorithm names). Reserving the room ourselves skips pyHanko's trial signature,
# which took half the time of sealing; pyHanko refuses to write a signature that does not fit.
SIGNATURE_MARGIN_BYTES = 4_096
# The visible seal: a box on the last page, in PDF points from the bottom left.
VISIBLE_BOX = (36, 24, 260, 72)


class SealError(Exception):
    """The PDF cannot be sealed: the seal's settings or files are wrong, or the PDF is."""


def configuration():
    """The PDF_SEAL setting checked, or None when letters are not sealed."""
    config = get_setting("PDF_SEAL")
    if not config:
        return None
    unknown = set(config) - SETTING_KEYS
    if unknown:
        raise ImproperlyConfigured(f"Unknown WAGTAIL_CORRESPONDENCE['PDF_SEAL'] keys: {', '.join(sorted(unknown))}")
    if bool(config.get("PKCS12")) == bool(config.get("KEY") or config.get("CERTIFICATE")):
        raise ImproperlyConfigured("WAGTAIL_CORRESPONDENCE['PDF_SEAL'] needs either PKCS12, or KEY and CERTIFICATE.")
    if not config.get("PKCS12") and not (config.get("KEY") and config.get("CERTIFICATE")):
        raise ImproperlyConfigured("WAGTAIL_CORRESPONDENCE['PDF_SEAL'] needs both KEY and CERTIFICATE.")
    return config


def sealing_enabled():
    return configuration() is not None


def _files(config):
    return [path for name in ("PKCS12", "KEY", "CERTIFICATE") if (path := config.get(name))] + [
        *config.get("CHAIN", ()), *config.get("TRUST_ROOTS", ())]


def _cache_key(config):
    # A replaced key or certificate file is read again (its modification time changes).
    stamps = []
    for path in _files(config):
        try:
            stamps.append((path, os.stat(path).st_mtime_ns))
        except OSError as exc:
            raise SealError(_("The seal's file %(path)s cannot be read: %(error)s") % {
                "path": path, "error": exc.strerror}) from exc
    passphrase = config.get("PASSPHRASE")
    if passphrase is None and config.get("PASSPHRASE_ENV"):
        passphrase = os.environ.get(config["PASSPHRASE_ENV"])
    return (tuple(stamps), passphrase, repr(sorted((k, v) for k, v in config.items() if k != "PASSPHRASE")))


def _passphrase(value):
    return value.encode() if isinstance(value, str) else value


@functools.lru_cache(maxsize=4)
def _signer(key):
    from pyhanko.keys import load_certs_from_pemder
    from pyhanko.sign import signers

    stamps, passphrase, _config_repr = key
    config = configuration()
    chain = list(load_certs_from_pemder(config.get("CHAIN", ())))
    if config.get("PKCS12"):
        signer = signers.SimpleSigner.load_pkcs12(config["PKCS12"], ca_chain_files=config.get("CHAIN") or None,
                                                  passphrase=_passphrase(passphrase))
    else:
        signer = signers.SimpleSigner.load(config["KEY"], config["CERTIFICATE"], ca_chain_files=config.get("CHAIN"),
                                           key_passphrase=_passphrase(passphrase))
    if signer is None:  # pyHanko logs the reason and returns None
        raise SealError(_("The seal's key or certificate cannot be loaded (a wrong passphrase or file)."))
    roots = list(load_certs_from_pemder(config.get("TRUST_ROOTS", ())))
    if not roots:
        # The top of the chain that came with the certificate, else the certificate itself.
        known = chain or [cert for cert in signer.cert_registry if cert != signer.signing_cert]
        # asn1crypto answers "yes", "maybe" or "no".
        roots = [cert for cert in known if cert.self_signed != "no"] or [signer.signing_cert]
    return signer, roots


def _loaded():
    config = configuration()
    if config is None:
        raise SealError(_("No seal is configured (WAGTAIL_CORRESPONDENCE['PDF_SEAL'])."))
    try:
        return config, *_signer(_cache_key(config))
    except (OSError, ValueError) as exc:
        raise SealError(_("The seal's key or certificate cannot be loaded: %(error)s") % {"error": exc}) from exc


def certificate_fingerprint():
    """SHA-256 of the configured seal certificate (hex), or "" when letters are not sealed."""
    if not sealing_enabled():
        return ""
    _config, signer, _roots = _loaded()
    return signer.signing_cert.sha256.hex()


def _pdf_signer(config, signer, when):
    from pyhanko.sign import fields, signers

    class _SignerAt(signers.PdfSigner):
        # pyHanko takes the signing time from the clock; a letter is sealed at the time it
        # was generated, so that a batch's letters or a retry carry the letter's own time.
        def init_signing_session(self, pdf_out, existing_fields_only=False):
            session = super().init_signing_session(pdf_out, existing_fields_only)
            session.system_time = when
            return session

    organisation = get_setting("ORGANISATION_NAME")
    meta = signers.PdfSignatureMetadata(
        field_name=config.get("FIELD_NAME") or DEFAULT_FIELD_NAME, subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256", reason=config.get("REASON") or _("Issued by %(organisation)s") % {
            "organisation": organisation},
        location=config.get("LOCATION") or None, name=organisation)
    if not config.get("VISIBLE"):
        return _SignerAt(meta, signer)
    return _SignerAt(meta, signer, stamp_style=_stamp_style(),
                     new_field_spec=fields.SigFieldSpec(sig_field_name=meta.field_name, on_page=-1,
                                                        box=VISIBLE_BOX))


def _stamp_style():
    from pyhanko.stamp import TextStampStyle

    # pyHanko's standard font (Courier), which PDF readers have built in and which is not
    # embedded: a PDF/A validator flags the visible seal for that, so PDF/A archives keep
    # the seal invisible (the default).
    return TextStampStyle(stamp_text=_("Sealed by %(signer)s\n%(ts)s"), timestamp_format="%Y-%m-%d %H:%M %Z",
                          border_width=1)


def seal(content, when, password=None):
    """The PDF ``content`` with the organisation's seal, signed at ``when`` (an aware datetime).
    ``password``: the PDF is encrypted with it (the seal is added inside the encryption)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError

    config, signer, _roots = _loaded()
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(content), strict=False)
        if password is not None:
            writer.encrypt(password)
        pdf_signer = _pdf_signer(config, signer, when)
        output = _run(pdf_signer.async_sign_pdf(writer, bytes_reserved=_room(signer)))
    except (PdfError, ValueError, KeyError) as exc:
        raise SealError(_("The PDF cannot be sealed: %(error)s") % {"error": exc}) from exc
    return output.getvalue()


def _run(coroutine):
    """pyHanko's asynchronous API from synchronous code, also in a thread that already runs an
    event loop (an async view, a test driving a browser), where ``asyncio.run`` is refused."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _room(signer):
    certificates = {cert.sha256: cert for cert in [signer.signing_cert, *signer.cert_registry]}
    # In hexadecimal digits, as the file holds the signature.
    return 2 * (sum(len(cert.dump()) for cert in certificates.values()) + SIGNATURE_MARGIN_BYTES)


@dataclass(frozen=True)
class SealCheck:
    """What ``check_seal`` found. ``ok``: sealed, untouched since, and by our certificate."""

    sealed: bool
    intact: bool = False  # the signed bytes are unchanged and nothing was appended after them
    valid: bool = False  # the signature matches its certificate
    trusted: bool = False  # the certificate chains to one of the trust roots
    ours: bool = False  # signed with the configured seal certificate
    signer: str = ""  # the signing certificate's common name
    subject: str = ""  # its whole subject
    fingerprint: str = ""  # SHA-256 of the signing certificate
    signed_at: datetime | None = None
    problem: str = ""

    @property
    def ok(self):
        return self.sealed and self.intact and self.valid and self.trusted and self.ours

    def as_dict(self):
        data = asdict(self)
        data["signed_at"] = self.signed_at.isoformat() if self.signed_at else None
        data["ok"] = self.ok
        return data


def check_seal(content, password=None, certificate=None):
    """Whether ``content`` carries an intact seal by ``certificate`` (its SHA-256 in hex; by
    default the configured one). The last signature is the one checked, and it must cover
    the whole file."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    try:
        reader = PdfFileReader(io.BytesIO(content), strict=False)
        if reader.encrypted:
            if password is None:
                return SealCheck(sealed=False, problem=_("The PDF is encrypted: its password is needed."))
            reader.decrypt(password)
        signatures = reader.embedded_signatures
    except (PdfError, ValueError, KeyError) as exc:
        return SealCheck(sealed=False, problem=_("The file cannot be read as a PDF: %(error)s") % {"error": exc})
    if not signatures:
        return SealCheck(sealed=False, problem=_("The PDF carries no seal."))
    config = configuration()
    ours, roots, unreadable = certificate or "", [], ""
    if config is not None:
        try:
            _config, signer, roots = _loaded()
            ours = ours or signer.signing_cert.sha256.hex()
        except SealError as exc:
            # The seal's files gone or wrong: a letter's check says so instead of failing.
            unreadable = str(exc)
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    embedded = signatures[-1]
    try:
        status = _run(async_validate_pdf_signature(embedded, context))
    except (SignatureValidationError, PdfError, ValueError) as exc:
        return SealCheck(sealed=True, problem=_("The seal cannot be validated: %(error)s") % {"error": exc})
    certificate = status.signing_cert
    fingerprint = certificate.sha256.hex() if certificate is not None else ""
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    check = SealCheck(
        sealed=True, intact=bool(status.intact and whole), valid=bool(status.valid),
        trusted=bool(status.trusted), ours=bool(ours) and fingerprint == ours,
        signer=_common_name(certificate), subject=certificate.subject.human_friendly if certificate else "",
        fingerprint=fingerprint,
        signed_at=status.signer_reported_dt)
    return SealCheck(**{**asdict(check), "problem": _problem(check, config, unreadable)})


def _common_name(certificate):
    if certificate is None:
        return ""
    return certificate.subject.native.get("common_name") or certificate.subject.human_friendly


def _problem(check, config, unreadable=""):
    if not check.intact:
        return _("The PDF was changed after it was sealed.")
    if not check.valid:
        return _("The seal's signature does not match its certificate.")
    if unreadable and not (check.ours and check.trusted):
        return _("The seal is intact, but it cannot be checked against the settings: %(error)s") % {
            "error": unreadable}
    if config is None:
        return _("No seal is configured: its certificate and trust roots are unknown.")
    if not check.ours:
        return _("The PDF was sealed with another certificate (%(signer)s).") % {"signer": check.signer}
    if not check.trusted:
        return _("The seal's certificate does not chain to a trusted root.")
    return ""


def is_sealed(content):
    """A quick look, without parsing: does the file hold a signature dictionary?"""
    return b"/ByteRange" in content
