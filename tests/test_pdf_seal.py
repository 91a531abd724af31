"""Sealed PDFs: the organisation's PAdES seal (pyHanko) on generated letters, checked with
pyHanko's validator against a throwaway CA made for each test run; the archived and emailed
copies are the sealed ones; tampering, another certificate and bad settings are named."""

import copy
import datetime
import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from wagtail_correspondence import pdf_seal, roles
from wagtail_correspondence.delivery.base import get_channel
from wagtail_correspondence.models import Letter
from wagtail_correspondence.services import letters as service

from . import factories
from .test_dispatch import generate, smtp  # noqa: F401 (a fixture: aiosmtpd on loopback)

pytestmark = pytest.mark.usefixtures("one_customer")

PASSPHRASE = "seal passphrase"


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Insurance"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, key, issuer_name, issuer_key, ca):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(issuer_key, hashes.SHA256()))


class Authority:
    """A throwaway CA and seal certificates it issues, written as files in ``folder``."""

    def __init__(self, folder, name="Test Seal CA"):
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = _certificate(_name(name), self.key, _name(name), self.key, ca=True)
        self.ca_file = folder / f"{name.replace(' ', '-')}.pem"
        self.ca_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue_pkcs12(self, common_name="Example Insurance seal"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(_name(common_name), key, self.cert.subject, self.key, ca=False)
        path = self.folder / f"{common_name.replace(' ', '-')}.p12"
        path.write_bytes(pkcs12.serialize_key_and_certificates(
            b"seal", key, cert, [self.cert], serialization.BestAvailableEncryption(PASSPHRASE.encode())))
        return path, cert

    def issue_pem(self, common_name="Example Insurance PEM seal"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(_name(common_name), key, self.cert.subject, self.key, ca=False)
        key_file, cert_file = self.folder / "seal-key.pem", self.folder / "seal-cert.pem"
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.BestAvailableEncryption(PASSPHRASE.encode())))
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return key_file, cert_file, cert


@pytest.fixture
def template(customer_dictionary, standard_layout):
    fragment = factories.fragment(customer_dictionary, key="greeting", html="<p>Dear {{ customer.first_name }},</p>")
    return factories.letter_template(customer_dictionary, standard_layout, [fragment], channels=["print", "email"])


@pytest.fixture
def authority(tmp_path):
    return Authority(tmp_path)


@pytest.fixture
def sealed(settings, authority, monkeypatch):
    """Letters sealed with a PKCS#12 file whose passphrase comes from the environment."""
    p12, cert = authority.issue_pkcs12()
    monkeypatch.setenv("TEST_SEAL_PASSPHRASE", PASSPHRASE)
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "PDF_SEAL": {
        "PKCS12": str(p12), "PASSPHRASE_ENV": "TEST_SEAL_PASSPHRASE", "REASON": "Issued by Example Insurance",
        "LOCATION": "Brussels"}}
    return cert


def _letter(agent, template):
    return service.generate_letter(agent, service.LetterRequest(template=template,
                                                                data=copy.deepcopy(factories.SAMPLE_DATA)))


def _stored(letter):
    with letter.pdf.open("rb") as handle:
        return handle.read()


def _replace_stored(letter, content):
    """The stored file swapped for ``content``, through the storage (which encrypts it)."""
    storage, name = letter.pdf.storage, letter.pdf.name
    storage.delete(name)
    assert storage.save(name, ContentFile(content)) == name


def _validate(content, ca_file, password=None):
    """pyHanko's own validator, independent of pdf_seal.check_seal."""
    reader = PdfFileReader(io.BytesIO(content))
    if password is not None:
        reader.decrypt(password)
    [signature] = reader.embedded_signatures
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(ca_file))], allow_fetching=False)
    return validate_pdf_signature(signature, context)


def _fingerprint(cert):
    return cert.fingerprint(hashes.SHA256()).hex()


def test_a_generated_letter_is_sealed_at_its_generation_time(sealed, authority, agent, template):
    letter = _letter(agent, template)
    content = _stored(letter)
    status = _validate(content, authority.ca_file)
    assert status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
    assert status.signing_cert.sha256.hex() == _fingerprint(sealed) == letter.pdf_sealed_by
    assert status.signer_reported_dt == letter.generated_at.replace(microsecond=0)  # whole seconds
    signature = PdfFileReader(io.BytesIO(content)).embedded_signatures[0].sig_object
    assert signature["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert signature["/Reason"] == "Issued by Example Insurance" and signature["/Location"] == "Brussels"
    # The recorded SHA-256 and page count are the sealed file's.
    assert service.verified_pdf(letter) == content
    assert letter.pdf_pages == len(PdfReader(io.BytesIO(content)).pages)
    assert service.check_letter_pdf(letter).ok


def test_the_seal_carries_the_time_it_is_given_not_the_clock(sealed):
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    check = pdf_seal.check_seal(pdf_seal.seal(_minimal_pdf(), when=when))
    assert check.ok and check.signed_at == when


def test_letters_are_not_sealed_without_the_setting(agent, template):
    letter = _letter(agent, template)
    assert letter.pdf_sealed_by == "" and not pdf_seal.is_sealed(_stored(letter))
    check = service.check_letter_pdf(letter)
    assert check.ok and check.seal is None and not check.seal_expected


def test_pem_key_and_certificate_with_a_chain(settings, authority, agent, template):
    key_file, cert_file, cert = authority.issue_pem()
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "PDF_SEAL": {
        "KEY": str(key_file), "CERTIFICATE": str(cert_file), "CHAIN": [str(authority.ca_file)],
        "PASSPHRASE": PASSPHRASE, "VISIBLE": True}}
    letter = _letter(agent, template)
    status = _validate(_stored(letter), authority.ca_file)
    assert status.intact and status.valid and status.trusted and letter.pdf_sealed_by == _fingerprint(cert)
    # The visible seal: a widget with an appearance on the last page.
    last_page = PdfReader(io.BytesIO(_stored(letter))).pages[-1]
    [widget] = [annotation.get_object() for annotation in last_page["/Annots"]]
    assert widget["/FT"] == "/Sig" and "/AP" in widget


def test_the_archive_copy_is_the_sealed_one(sealed, authority, agent, template, smtp,  # noqa: F811
                                            django_capture_on_commit_callbacks):
    smtp.start()
    letter = generate(agent, template, django_capture_on_commit_callbacks)
    archived = get_channel("archive").read(letter)
    assert archived == _stored(letter)
    assert _validate(archived, authority.ca_file).intact
    # The email carries the same sealed file.
    [message] = smtp.mailbox.messages
    [attachment] = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert attachment.get_content() == archived


def _emailed_with_a_password(agent, smtp, customer_dictionary, standard_layout, capture):  # noqa: F811
    """A letter of a template whose emailed PDF has a password (the customer's phone digits,
    3225550123), sent to the SMTP sink: (letter, the attachment's bytes)."""
    smtp.start()
    fragment = factories.fragment(customer_dictionary, key="secret", html="<p>Dear {{ customer.first_name }},</p>")
    protected = factories.letter_template(customer_dictionary, standard_layout, [fragment],
                                          email_pdf_password="{{ customer.phone|digits }}")
    letter = generate(agent, protected, capture)
    [message] = smtp.mailbox.messages
    [attachment] = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    return letter, attachment.get_content()


def test_a_password_protected_email_copy_is_sealed_inside_its_encryption(sealed, authority, agent, smtp,  # noqa: F811
                                                                         customer_dictionary, standard_layout,
                                                                         django_capture_on_commit_callbacks):
    letter, content = _emailed_with_a_password(agent, smtp, customer_dictionary, standard_layout,
                                               django_capture_on_commit_callbacks)
    assert PdfReader(io.BytesIO(content)).is_encrypted
    # One seal (the one broken by the rewrite is gone), intact, ours, at the letter's time.
    status = _validate(content, authority.ca_file, password="3225550123")
    assert status.intact and status.valid and status.trusted and status.coverage.name == "ENTIRE_FILE"
    assert status.signer_reported_dt == letter.generated_at.replace(microsecond=0)  # whole seconds
    check = pdf_seal.check_seal(content, password="3225550123")
    assert check.ok, check.problem
    assert not pdf_seal.check_seal(content).sealed  # the password is needed to check it


def test_tampering_after_sealing_is_named(sealed, agent, template):
    letter = _letter(agent, template)
    content = _stored(letter)
    flipped = bytearray(content)
    flipped[len(flipped) // 3] ^= 0x01
    check = pdf_seal.check_seal(bytes(flipped))
    assert not check.ok and not check.intact and check.problem == "The PDF was changed after it was sealed."
    # An incremental update appended after the seal leaves the signed bytes intact, but the
    # seal no longer covers the whole file.
    appended = pdf_seal.check_seal(content + b"\n1 0 obj\n<< >>\nendobj\n")
    assert not appended.ok and appended.problem == "The PDF was changed after it was sealed."
    # The stored file replaced by the tampered one.
    _replace_stored(letter, bytes(flipped))
    result = service.check_letter_pdf(Letter.objects.get(pk=letter.pk))
    assert not result.ok and not result.stored_pdf_matches and "does not match its recorded SHA-256" in result.problem


def test_another_certificate_is_not_ours(settings, sealed, authority, tmp_path, agent, template):
    other_authority = Authority(tmp_path, name="Other CA")
    other_p12, _cert = other_authority.issue_pkcs12("Someone else")
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "PDF_SEAL": {
        "PKCS12": str(other_p12), "PASSPHRASE": PASSPHRASE}}
    forged = pdf_seal.seal(_minimal_pdf(), when=datetime.datetime.now(datetime.timezone.utc))
    # Back to our seal: a PDF sealed by someone else is intact but neither ours nor trusted.
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "PDF_SEAL": {
        "PKCS12": str(authority.issue_pkcs12()[0]), "PASSPHRASE": PASSPHRASE}}
    check = pdf_seal.check_seal(forged)
    assert check.intact and check.valid and not check.ours and not check.trusted and not check.ok
    assert check.problem.startswith("The PDF was sealed with another certificate")


def _minimal_pdf():
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_a_wrong_passphrase_refuses_generation_and_keeps_nothing(settings, authority, agent, template):
    p12, _cert = authority.issue_pkcs12()
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "PDF_SEAL": {
        "PKCS12": str(p12), "PASSPHRASE": "not it"}}
    with pytest.raises(service.LetterError) as refused:
        _letter(agent, template)
    [problem] = refused.value.problems
    assert problem.field == "pdf" and "cannot be loaded" in problem.message
    assert not Letter.objects.filter(status="generated").exists()


def test_a_missing_key_file_is_named(settings, tmp_path):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "PDF_SEAL": {
        "PKCS12": str(tmp_path / "nowhere.p12"), "PASSPHRASE": PASSPHRASE}}
    with pytest.raises(pdf_seal.SealError, match="nowhere.p12"):
        pdf_seal.seal(_minimal_pdf(), when=datetime.datetime.now(datetime.timezone.utc))


def test_the_seal_settings_are_checked(settings, tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    from wagtail_correspondence.checks import pdf_seal_loads

    assert pdf_seal_loads(None) == []  # not configured
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "PDF_SEAL": {
        "PKCS12": str(tmp_path / "gone.p12"), "PASSPHRASE": "x"}}
    [error] = pdf_seal_loads(None)
    assert error.id == "wagtail_correspondence.E070" and "gone.p12" in error.msg
    for bad in ({"PKCS12": "a.p12", "KEY": "k.pem"}, {"KEY": "k.pem"}, {"PKCS12": "a.p12", "PASWORD": "x"}):
        settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "PDF_SEAL": bad}
        with pytest.raises(ImproperlyConfigured):
            pdf_seal.configuration()


def test_the_verification_endpoint(client, sealed, agent, template, make_user, billing_and_claims):
    letter = _letter(agent, template)
    url = f"/api/correspondence/v1/letters/{letter.reference}/pdf/verification/"
    assert client.get(url).status_code in (401, 403)  # anonymous
    client.force_login(agent)
    body = client.get(url).json()
    assert body["ok"] and body["stored_pdf_matches"] and body["seal_expected"]
    assert body["seal"]["intact"] and body["seal"]["ours"] and body["seal"]["trusted"]
    assert body["seal"]["fingerprint"] == letter.pdf_sealed_by
    assert body["seal"]["signer"] == "Example Insurance seal"
    assert body["seal"]["subject"] == "Common Name: Example Insurance seal, Organization: Example Insurance"
    # Someone who may not see the letter learns nothing about it.
    outsider = make_user("outsider", roles.AGENTS)
    billing_and_claims["billing"].members.add(outsider)
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    # A draft has no PDF to verify.
    draft = service.save_draft(agent, service.LetterRequest(template=template,
                                                            data=copy.deepcopy(factories.SAMPLE_DATA)))
    client.force_login(agent)
    assert client.get(f"/api/correspondence/v1/letters/{draft.uuid}/pdf/verification/").status_code == 404


def test_the_verify_command(sealed, agent, template):
    good = _letter(agent, template)
    bad = _letter(agent, template)
    out = io.StringIO()
    call_command("correspondence_verify_pdfs", good.reference, stdout=out)
    assert f"{good.reference}: in order, sealed by" in out.getvalue()
    content = bytearray(_stored(bad))
    content[len(content) // 2] ^= 0x01
    _replace_stored(bad, bytes(content))
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 letters are not in order"):
        call_command("correspondence_verify_pdfs", "--all", stdout=out)
    assert f"{bad.reference}: NOT in order" in out.getvalue() and f"{good.reference}: in order" in out.getvalue()
    with pytest.raises(CommandError, match="No generated letter has the reference OUT-1999-000001"):
        call_command("correspondence_verify_pdfs", "OUT-1999-000001")
    with pytest.raises(CommandError, match="not a date"):
        call_command("correspondence_verify_pdfs", "--since", "yesterday")


def test_the_letter_page_says_whether_the_seal_is_intact(client, sealed, agent, template):
    letter = _letter(agent, template)
    client.force_login(agent)
    url = f"/admin/correspondence/letters/inspect/{letter.pk}/"
    page = client.get(url).content.decode()
    assert 'data-pdf-seal="intact"' in page and "Sealed by Example Insurance seal" in page
    content = bytearray(_stored(letter))
    content[len(content) // 2] ^= 0x01
    _replace_stored(letter, bytes(content))
    page = client.get(url).content.decode()
    assert 'data-pdf-seal="broken"' in page and "does not match its recorded SHA-256" in page


def test_sealing_and_checking_work_where_an_event_loop_runs(sealed):
    """An async view or a worker with a running loop: pyHanko's asyncio.run would be refused."""
    import asyncio

    async def inside_a_loop():
        sealed_pdf = pdf_seal.seal(_minimal_pdf(), when=datetime.datetime.now(datetime.timezone.utc))
        return pdf_seal.check_seal(sealed_pdf)

    # In a thread of its own: this one may already run Playwright's loop (the browser journeys).
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, inside_a_loop()).result().ok


def test_checking_a_copy_someone_holds(client, sealed, agent, template, make_user, billing_and_claims, smtp,  # noqa: F811
                                       customer_dictionary, standard_layout, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    letter = _letter(agent, template)
    genuine = _stored(letter)
    url = "/api/correspondence/v1/letters/verify-pdf/"

    def check(content, **extra):
        return client.post(url, {"file": SimpleUploadedFile("copy.pdf", content, "application/pdf"), **extra})

    assert check(genuine).status_code in (401, 403)  # anonymous
    client.force_login(agent)
    body = check(genuine).json()
    assert body["ok"] and body["letter_found"] and body["same_as_stored"] and body["reference"] == letter.reference
    assert body["seal"]["signer"] == "Example Insurance seal"
    flipped = bytearray(genuine)
    flipped[len(flipped) // 3] ^= 0x01
    body = check(bytes(flipped)).json()
    assert not body["ok"] and not body["same_as_stored"]
    assert body["seal"]["problem"] == "The PDF was changed after it was sealed."
    # Not a PDF: refused, naming the field, before anything is read.
    response = check(b"MZ\x90\x00 not a pdf")
    assert response.status_code == 400 and "file" in response.json()
    # Someone of another department: the seal is genuine, but the letter is not theirs to see.
    outsider = make_user("outsider", roles.AGENTS)
    billing_and_claims["billing"].members.add(outsider)
    client.force_login(outsider)
    body = check(genuine).json()
    assert body["ok"] and not body["letter_found"] and not body["same_as_stored"]
    # A password-protected email copy: genuine with its password, not the stored bytes.
    emailed, content = _emailed_with_a_password(agent, smtp, customer_dictionary, standard_layout,
                                                django_capture_on_commit_callbacks)
    client.force_login(agent)
    body = check(content, password="3225550123").json()
    assert body["ok"] and body["letter_found"] and body["reference"] == emailed.reference
    assert not body["same_as_stored"]
    body = check(content).json()
    assert not body["ok"] and body["seal"]["problem"] == "The PDF is encrypted: its password is needed."


def test_the_verify_command_checks_a_file(sealed, agent, template, tmp_path):
    letter = _letter(agent, template)
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(_stored(letter))
    out = io.StringIO()
    call_command("correspondence_verify_pdfs", "--file", str(copy), stdout=out)
    assert f"genuine, letter {letter.reference}, byte for byte the stored PDF; sealed by Example Insurance seal" \
        in out.getvalue()
    content = bytearray(copy.read_bytes())
    content[len(content) // 3] ^= 0x01
    copy.write_bytes(bytes(content))
    with pytest.raises(CommandError, match="NOT a genuine copy .*changed after it was sealed"):
        call_command("correspondence_verify_pdfs", "--file", str(copy))
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("correspondence_verify_pdfs", "--file", str(tmp_path / "missing.pdf"))


def test_a_seal_file_gone_later_is_named_not_a_500(client, settings, authority, agent, template):
    p12, _cert = authority.issue_pkcs12()
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "PDF_SEAL": {
        "PKCS12": str(p12), "PASSPHRASE": PASSPHRASE}}
    letter = _letter(agent, template)
    p12.unlink()
    client.force_login(agent)
    page = client.get(f"/admin/correspondence/letters/inspect/{letter.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-pdf-seal="broken"' in text and "cannot be checked against the settings" in text
    body = client.get(f"/api/correspondence/v1/letters/{letter.reference}/pdf/verification/").json()
    assert not body["ok"] and body["seal"]["intact"] and p12.name in body["problem"]
