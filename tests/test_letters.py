"""Letters: generation with reference numbers and pinned revisions, immutability,
reproduction after the content changed, drafts, idempotency and usage."""

import copy
import datetime
import hashlib
import subprocess

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from wagtail.models import ModelLogEntry

from wagtail_correspondence import roles
from wagtail_correspondence.models import Letter, LetterStatus, ReferenceSequence
from wagtail_correspondence.rendering import pdf as pdf_rendering
from wagtail_correspondence.services import letters as service
from wagtail_correspondence.services.usage import fragment_usage
from wagtail_correspondence.services.numbering import ReferencePatternError, next_reference, sequence_prefix

from . import factories

pytestmark = pytest.mark.usefixtures("one_customer")


@pytest.fixture
def template(customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary, key="greeting")
    reminder = factories.fragment(customer_dictionary, key="reminder",
                                  html="<p>Please pay {{ balance|money }}.</p>")
    unused = factories.fragment(customer_dictionary, key="unused", html="<p>Only when VIP.</p>")
    body = factories.template_body(
        ("fragment", greeting), ("fragment", reminder),
        ("conditional_include", {"condition": "customer.vip", "fragment": unused}),
        ("agent_slot", {"name": "note", "label": "Note", "help": "", "required": False, "max_length": 500,
                        "default_text": ""}))
    return factories.letter_template(customer_dictionary, standard_layout, [], body=body)


def request_for(template, **kwargs):
    kwargs.setdefault("data", copy.deepcopy(factories.SAMPLE_DATA))
    return service.LetterRequest(template=template, **kwargs)


def pdf_text(letter):
    with letter.pdf.open("rb") as handle:
        content = handle.read()
    return subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


def republish(fragment, html):
    fragment.body = factories.fragment_body(factories.rich_text(html))
    fragment.save_revision().publish()
    fragment.refresh_from_db()


def test_generate_numbers_pins_renders_and_audits(agent, template):
    letter = service.generate_letter(agent, request_for(template, slots={"note": "Call me."}))
    year = letter.generated_at.year
    assert letter.reference == f"OUT-{year}-000001" and letter.status == LetterStatus.GENERATED
    assert letter.template_revision_id == template.live_revision_id
    assert letter.layout_revision_id == template.layout.live_revision_id
    assert letter.dictionary_revision_id == template.data_dictionary.latest_revision.pk
    pins = {pin.fragment.key: pin for pin in letter.fragment_pins.select_related("fragment")}
    assert set(pins) == {"greeting", "reminder", "unused"}
    assert pins["reminder"].revision_id == pins["reminder"].fragment.live_revision_id
    assert pins["greeting"].included and not pins["unused"].included  # referenced, left out by its condition
    with letter.pdf.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == letter.pdf_sha256
    text = pdf_text(letter)
    assert "Dear Ada," in text and "Please pay €250.00." in text and "Call me." in text
    assert letter.reference in text and letter.pdf_pages == 1
    assert letter.email_subject == "Your account C-1001" and "Please pay €250.00." in letter.email_text
    entry = ModelLogEntry.objects.for_instance(letter).get(action="wagtail_correspondence.letter.generated")
    assert entry.user == agent and entry.data["reference"] == letter.reference
    assert service.generate_letter(agent, request_for(template)).reference == f"OUT-{year}-000002"


def test_generated_letter_is_immutable(agent, template):
    letter = service.generate_letter(agent, request_for(template))
    letter = Letter.objects.get(pk=letter.pk)
    letter.html = "<p>changed</p>"
    with pytest.raises(Exception, match="cannot be changed"):
        letter.save()
    letter = Letter.objects.get(pk=letter.pk)
    letter.status = LetterStatus.DRAFT
    with pytest.raises(Exception, match="back to draft"):
        letter.save()
    with pytest.raises(Exception, match="cannot be deleted"):
        Letter.objects.get(pk=letter.pk).delete()
    assert Letter.objects.get(pk=letter.pk).html.startswith("<!DOCTYPE html>")


def test_rerendering_from_pins_is_identical_after_content_changed(agent, template, standard_layout):
    letter = service.generate_letter(agent, request_for(template, slots={"note": "Pinned."}))
    reminder = template.referenced_fragments()[1][0]
    republish(reminder, "<p>NEW WORDING {{ balance|money }}.</p>")
    standard_layout.sender_block = "A different sender"
    standard_layout.save_revision().publish()
    dictionary = template.data_dictionary
    dictionary.description = "edited"
    dictionary.save()
    dictionary.save_revision()

    letter = Letter.objects.get(pk=letter.pk)
    again = service.rerender_letter(letter)
    assert again.problems == []
    assert again.html == letter.html  # byte-identical
    assert hashlib.sha256(again.html.encode()).hexdigest() == letter.html_sha256
    assert "NEW WORDING" not in again.html and "A different sender" not in again.html
    # A new letter uses the new wording.
    fresh = service.generate_letter(agent, request_for(template))
    assert "NEW WORDING €250.00." in fresh.html and "A different sender" in fresh.html


def test_missing_data_refuses_generation_and_gives_the_number_back(agent, template):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    del data["customer"]["address"]
    with pytest.raises(service.LetterError) as excinfo:
        service.generate_letter(agent, request_for(template, data=data))
    assert [problem.field for problem in excinfo.value.problems] == ["customer.address"]
    assert not Letter.objects.exists()
    first = service.generate_letter(agent, request_for(template))
    assert first.reference.endswith("-000001")  # the refused attempt left no gap


def test_pdf_failure_rolls_back_the_letter_and_its_number(agent, template, monkeypatch):
    def broken(*args, **kwargs):
        raise pdf_rendering.PdfRenderingError("renderer crashed")

    monkeypatch.setattr(service, "render_pdf", broken)
    with pytest.raises(service.LetterError, match="renderer crashed"):
        service.generate_letter(agent, request_for(template))
    assert not Letter.objects.exists()
    assert not ReferenceSequence.objects.filter(last_value__gt=0).exists()


def test_customer_record_with_overrides(agent, template):
    letter = service.generate_letter(agent, request_for(template, customer_id="C-1001",
                                                        data={"balance": "99.10", "customer": {"first_name": "Ad"}}))
    assert letter.customer_id == "C-1001"
    assert letter.data["customer"]["last_name"] == "Peeters"  # from the record
    assert letter.data["customer"]["first_name"] == "Ad" and "Please pay €99.10." in letter.html
    with pytest.raises(service.LetterError) as excinfo:
        service.preview_letter(agent, request_for(template, customer_id="NOPE", data=None))
    assert excinfo.value.problems[0].field == "customer_id"


def test_idempotency_key_returns_the_same_letter(agent, template, make_user):
    first = service.generate_letter(agent, request_for(template), idempotency_key="k-1")
    again = service.generate_letter(agent, request_for(template), idempotency_key="k-1")
    assert again.pk == first.pk and again.replayed and not first.replayed
    assert Letter.objects.count() == 1
    with pytest.raises(service.IdempotencyConflict):
        service.generate_letter(agent, request_for(template, slots={"note": "different"}), idempotency_key="k-1")
    other = make_user("agent2", roles.AGENTS)
    assert service.generate_letter(other, request_for(template), idempotency_key="k-1").pk != first.pk


def test_drafts_save_resume_and_generate(agent, template, make_user):
    draft = service.save_draft(agent, request_for(template, customer_id="C-1001", data={"balance": "10.00"},
                                                  slots={"note": "first"}))
    assert draft.status == LetterStatus.DRAFT and draft.reference is None
    assert draft.data_overrides == {"balance": "10.00"} and draft.data["balance"] == "10.00"
    assert draft.fragment_pins.count() == 3  # usage sees drafts too
    draft = service.save_draft(agent, service.request_for_draft(draft, slots={"note": "second"}), draft)
    assert Letter.objects.count() == 1 and draft.slot_values == {"note": "second"}

    intruder = make_user("agent2", roles.AGENTS)
    with pytest.raises(PermissionDenied):
        service.save_draft(intruder, service.request_for_draft(draft), draft)
    with pytest.raises(PermissionDenied):
        service.generate_letter(intruder, service.request_for_draft(draft), draft=draft)

    letter = service.generate_letter(agent, service.request_for_draft(draft), draft=draft)
    assert letter.pk == draft.pk and letter.status == LetterStatus.GENERATED
    assert "second" in letter.html and "Please pay €10.00." in letter.html
    actions = list(ModelLogEntry.objects.for_instance(letter).order_by("pk").values_list("action", flat=True))
    assert actions == ["wagtail_correspondence.letter.created", "wagtail_correspondence.letter.draft_saved",
                       "wagtail_correspondence.letter.generated"]


def test_only_letter_builders_may_preview_or_generate(make_user, template):
    author = make_user("author", roles.CONTENT_AUTHORS)
    with pytest.raises(PermissionDenied):
        service.preview_letter(author, request_for(template))
    with pytest.raises(PermissionDenied):
        service.generate_letter(author, request_for(template))


def test_unpublished_template_cannot_be_used(agent, template):
    template.unpublish()
    with pytest.raises(service.LetterError) as excinfo:
        service.generate_letter(agent, request_for(template))
    assert excinfo.value.problems[0].field == "template"


def test_fragment_usage_counts_drafts_and_generated_letters(agent, template):
    service.save_draft(agent, request_for(template))
    service.generate_letter(agent, request_for(template))
    greeting, _where, _position = template.referenced_fragments()[0]
    unused = template.referenced_fragments()[2][0]
    usage = fragment_usage(type(greeting).objects.get(pk=greeting.pk))
    assert (len(usage.templates), usage.draft_letters, usage.generated_letters) == (1, 1, 1)
    unused_usage = fragment_usage(type(unused).objects.get(pk=unused.pk))
    assert unused_usage.generated_letters == 0  # referenced but not in the letter


def test_tampered_pdf_is_detected_on_read(agent, template):
    letter = service.generate_letter(agent, request_for(template))
    path = letter.pdf.storage.path(letter.pdf.name)
    with open(path, "rb") as handle:
        stored = bytearray(handle.read())
    # An altered byte of the encrypted file fails Fernet's HMAC...
    stored[len(stored) // 2] ^= 0x01
    with open(path, "wb") as handle:
        handle.write(bytes(stored))
    with pytest.raises(service.LetterIntegrityError):
        service.read_pdf(agent, letter)
    # ...and a file replaced by a plain PDF fails the recorded SHA-256.
    with open(path, "wb") as handle:
        handle.write(b"%PDF-1.7 tampered")
    with pytest.raises(service.LetterIntegrityError):
        service.read_pdf(agent, letter)


def test_reference_pattern_and_sequences(db):
    assert sequence_prefix("OUT-{year}-{seq:06}", year=2026) == "OUT-2026-#"
    with transaction.atomic():
        assert next_reference("LET/{year}/{seq:04}").endswith("/0001")
        assert next_reference("OUT-{year}-{seq:06}", when=datetime.date(2025, 5, 1)) == "OUT-2025-000001"
        assert next_reference("OUT-{year}-{seq:06}", when=datetime.date(2025, 5, 1)) == "OUT-2025-000002"
        assert next_reference("OUT-{year}-{seq:06}", when=datetime.date(2026, 1, 1)) == "OUT-2026-000001"
    with pytest.raises(ReferencePatternError):
        sequence_prefix("OUT-{year}")
