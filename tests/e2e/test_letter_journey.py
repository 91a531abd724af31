"""An agent builds a payment reminder for a demo customer, watches the preview follow the
personal note, generates the letter and downloads its PDF. The customer speaks French: the
letter is written in French from the approved French wording, with French amounts and dates,
without the agent choosing anything."""

import datetime
import hashlib
import re
import subprocess

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions
from correspondence_demo.content import DemoBuilder
from wagtail_correspondence.models import Letter

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "journey-demo-password"
CUSTOMER_ID = "C-1004"
CUSTOMER_NAME = "Dirk Maes"
NOTE = "We spoke on the phone this morning; thank you for your patience."
INJECTION = "{{ 7*7 }} <b>bold</b>"
REFERENCE = re.compile(r"^OUT-\d{4}-\d{6}$")


@pytest.fixture
def demo(transactional_db):
    DemoBuilder(password=PASSWORD, log=lambda *args: None, register=False).build()
    return get_user_model().objects.get(username="agent")


def preview_source(page):
    return page.locator("iframe[data-preview-frame]").evaluate("frame => frame.srcdoc")


def wait_for_preview(page, *texts):
    """Wait until the preview's HTML (the iframe's srcdoc) holds every text, and the
    builder says it is up to date (no preview request still running)."""
    page.wait_for_function(
        """texts => {
            const frame = document.querySelector('iframe[data-preview-frame]');
            const status = document.querySelector('[data-preview-status]').textContent;
            return status.startsWith('Preview up to date') && texts.every(t => frame.srcdoc.includes(t));
        }""", arg=list(texts))


def pdf_downloads(reference):
    return ModelLogEntry.objects.filter(action=log_actions.LETTER_PDF_DOWNLOADED, data__reference=reference).count()


def preview_text(page):
    """The preview's text, no-break spaces (French amounts: "929,75 €") as plain spaces."""
    text = page.frame_locator("iframe[data-preview-frame]").locator("body").inner_text()
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def assert_readable(button):
    """The button's label is visible and on top at its centre (nothing, such as an unsized
    icon, covers it), and its icons are icon-sized."""
    button.scroll_into_view_if_needed()  # elementFromPoint sees only the viewport
    label = button.locator("[data-button-label]")
    assert label.is_visible()
    box = label.bounding_box()
    assert box["width"] > 20 and box["height"] > 8, box
    hit = button.evaluate(
        """(button, point) => {
            const element = document.elementFromPoint(point.x, point.y);
            return {inLabel: !!element && !!element.closest('[data-button-label]'),
                    inButton: !!element && button.contains(element), text: element ? element.textContent : ''};
        }""", {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2})
    assert hit["inLabel"] and hit["inButton"], hit
    for icon in button.locator("svg.icon").all():
        if icon.is_visible():
            icon_box = icon.bounding_box()
            assert icon_box["width"] <= 24 and icon_box["height"] <= 24, icon_box
    button_box = button.bounding_box()
    assert button_box["height"] <= 60 and button_box["width"] <= 300, button_box


def test_agent_builds_previews_generates_and_downloads_a_payment_reminder(demo, open_session, screenshot,
                                                                          tmp_path):
    agent = demo
    page = open_session("agent", PASSWORD)

    # 1. Letters → New letter → the "Payment reminder" card.
    page.locator("#wagtail-sidebar").get_by_role("button", name="Letters").click()
    page.get_by_role("link", name="New letter").click()
    page.wait_for_url("**/admin/correspondence/letters/new/")
    card = page.locator("[data-template-choice=payment-reminder]")
    card.wait_for()
    # The folders' icons are icon-sized, beside their names.
    for icon in page.locator(".cc-template-folder__title svg.icon").all():
        box = icon.bounding_box()
        assert box["width"] <= 32 and box["height"] <= 32, box
    screenshot(page, "choose-template")
    card.click()
    page.wait_for_url("**/admin/correspondence/letters/new/*/")
    page.locator("[data-customer-search]").wait_for()

    # 2. Find the customer; the preview fills with their name, address and amounts.
    page.locator("[data-customer-search]").press_sequentially(CUSTOMER_NAME.split()[1], delay=30)
    result = page.locator("[data-customer-results] button", has_text=CUSTOMER_NAME)
    result.click()
    page.locator("[data-customer-chosen]", has_text=CUSTOMER_ID).wait_for()
    # The customer prefers email: the channel and the preview follow.
    page.locator("[data-preview-tab=email][aria-selected=true]").wait_for()
    assert page.locator("select[name=channel]").input_value() == "email"
    page.locator("[data-preview-tab=print]").click()
    wait_for_preview(page, "Maes", "929,75", "Boulevard d&#x27;Avroy 55")
    text = preview_text(page)
    for expected in ["Chère Madame, cher Monsieur Maes,", CUSTOMER_NAME, "Boulevard d'Avroy 55", "4000 LIÈGE",
                     CUSTOMER_ID, "929,75 €", "INV-2026-1030", "312,25 €", "317,50 €", "300,00 €", "4 sept. 2026",
                     "dépassant désormais 500,00 €", "Veuillez agréer nos salutations distinguées,"]:
        assert expected in text, f"{expected!r} missing from the preview:\n{text}"
    assert NOTE not in text
    screenshot(page, "customer-chosen")

    # 3. The personal note shows up in the preview, escaped: no template code, no markup.
    slot = page.locator("textarea[name='slot:personal_note']")
    slot.fill(NOTE + " " + INJECTION)
    wait_for_preview(page, NOTE)
    source = preview_source(page)
    assert "{{ 7*7 }} &lt;b&gt;bold&lt;/b&gt;" in source
    assert "<b>bold</b>" not in source
    text = preview_text(page)
    assert f"{NOTE} {INJECTION}" in text
    assert f"{NOTE} 49" not in text
    assert page.frame_locator("iframe[data-preview-frame]").locator("b", has_text="bold").count() == 0
    screenshot(page, "personal-note", docs="letter-builder")

    # The other channels: the email version, and the SMS text with its segment count.
    page.locator("[data-preview-tab=email]").click()
    wait_for_preview(page, "vous trouverez en annexe un rappel")
    email = preview_text(page)
    assert "Bonjour Dirk, vous trouverez en annexe un rappel concernant votre solde de 929,75 €." in email
    screenshot(page, "email-tab")
    page.locator("[data-preview-tab=sms]").click()
    sms_text = page.locator("[data-sms-text]")
    sms_text.wait_for()
    assert page.locator("iframe[data-preview-frame]").is_hidden()
    assert "Northwind : un solde de 929,75 € est à payer le" in sms_text.inner_text()
    assert f"Réf. {CUSTOMER_ID}" in sms_text.inner_text()
    meta = page.locator("[data-sms-meta]").inner_text()
    assert re.search(r"^\d+ characters · \d+ GSM-7 septets · 1 segment\(s\)$", meta), meta
    screenshot(page, "sms-tab")
    page.locator("[data-preview-tab=print]").click()
    wait_for_preview(page, NOTE)
    page.locator("[data-problems]", has_text="Ready to generate").wait_for()

    # 4. Generate: the letter's page, with a success message and the reference number. Both
    # main buttons read as what they do.
    generate = page.locator("[data-generate]")
    assert generate.is_enabled()
    assert generate.inner_text().strip() == "Generate letter"
    assert page.locator("[data-pdf-preview]").inner_text().strip() == "PDF preview"
    assert_readable(generate)
    assert_readable(page.locator("[data-pdf-preview]"))
    generate.click()
    page.wait_for_url(re.compile(r".*/admin/correspondence/letters/inspect/\d+/$"), timeout=60_000)
    page.wait_for_load_state("load")
    reference = page.locator("[data-letter-reference]").inner_text().strip()
    assert REFERENCE.match(reference), reference
    page.locator(".messages", has_text=f"Letter {reference} generated.").wait_for()
    screenshot(page, "generated")

    # 5. Download the PDF from the link on the letter's page. (The page's own PDF frame is
    # loaded by now: "load" waits for subframes, so the audit count below only moves for the click.)
    downloads_before = pdf_downloads(reference)
    link = page.locator("[data-download-pdf]")
    assert link.inner_text().strip() == f"{reference}.pdf"
    with page.expect_download(predicate=lambda download: "inline=" not in download.url) as info:
        link.click()
    download = info.value
    assert download.suggested_filename == f"{reference}.pdf"
    pdf_path = tmp_path / download.suggested_filename
    download.save_as(pdf_path)
    content = pdf_path.read_bytes()
    assert content.startswith(b"%PDF")
    pdf_text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True,
                              check=True).stdout
    flat = " ".join(pdf_text.split())
    for expected in [CUSTOMER_NAME, NOTE, reference, "Page 1 sur", "929,75 €", "Rappel de paiement — compte C-1004"]:
        assert expected in flat, f"{expected!r} missing from the PDF:\n{pdf_text}"
    assert "".join(INJECTION.split()) in "".join(pdf_text.split())  # literal, whatever the line breaks
    assert f"{NOTE} 49" not in flat

    # 6. What was stored, and the audit trail.
    letter = Letter.objects.get(reference=reference)
    assert letter.status == "generated"
    assert letter.created_by == agent
    assert letter.reference == reference
    assert reference.startswith(f"OUT-{timezone.localdate(letter.generated_at).year}-")
    assert letter.customer_id == CUSTOMER_ID
    assert letter.slot_values["personal_note"] == f"{NOTE} {INJECTION}"
    assert letter.template_revision_id is not None
    assert letter.fragment_pins.count() > 0
    # Written in the customer's language, from the approved French variants, pinned as such.
    assert letter.language == "fr" and letter.language_fallbacks == []
    assert set(letter.fragment_pins.values_list("fragment__locale__language_code", flat=True)) == {"fr"}
    assert letter.pdf_sha256 == hashlib.sha256(content).hexdigest()
    entries = ModelLogEntry.objects.for_instance(letter)
    generated = entries.filter(action=log_actions.LETTER_GENERATED)
    assert generated.count() == 1
    assert generated.get().user == agent and generated.get().data["reference"] == reference
    assert pdf_downloads(reference) == downloads_before + 1
    downloaded = entries.filter(action=log_actions.LETTER_PDF_DOWNLOADED).latest("timestamp")
    assert downloaded.user == agent and downloaded.data["reference"] == reference


REPLY_CUSTOMER = "C-1001"  # Ada Peeters, who prefers email; her record carries an older complaint


def test_officer_replies_to_a_register_entry_and_the_letter_quotes_it(transactional_db, open_session, screenshot):
    from wagtail_correspondence.customers import get_customer_source
    from wagtail_correspondence.models import Correspondence, Department, Direction, Status
    from wagtail_correspondence.services.register import register_entry

    DemoBuilder(password=PASSWORD, log=lambda *args: None, register=False).build()
    officer = get_user_model().objects.get(username="officer")
    record = get_customer_source().get(REPLY_CUSTOMER)
    assert record["customer"]["preferred_channel"] == "email"
    old_complaint = record["complaint"]["reference"]
    entry = register_entry(
        officer, direction=Direction.INBOUND, kind="letter", channel="post", customer_id=REPLY_CUSTOMER,
        subject="Claim 2026-CL-204: still no expert visit", body="Nobody came to see the water damage.",
        sender_name="Ada Peeters", department=Department.objects.get(code="complaints"), assignee=officer,
        received_at=timezone.make_aware(datetime.datetime(2026, 12, 3, 9, 30)))
    assert entry.received_at is not None and entry.customer_id == REPLY_CUSTOMER

    page = open_session("officer", PASSWORD)
    page.goto(entry.get_admin_url())
    page.locator("[data-action=reply-letter]").click()
    page.locator("[data-template-choice=complaint-acknowledgement]").click()
    page.wait_for_url(re.compile(r".*/admin/correspondence/letters/new/\d+/\?.*in_reply_to=.*"))

    # The builder keeps its two columns: the form on the left, the preview on the right.
    panel = page.locator(f"[data-in-reply-to='{entry.reference}']")
    panel.wait_for()
    assert "Received\n3 Dec 2026" in panel.inner_text()  # the product's one date format (|day)
    assert entry.subject in panel.inner_text()
    inputs = page.locator(".cc-builder__inputs").bounding_box()
    preview = page.locator(".cc-builder__preview").bounding_box()
    assert inputs["x"] + inputs["width"] <= preview["x"], (inputs, preview)
    assert abs(inputs["y"] - preview["y"]) < 40, (inputs, preview)
    assert preview["width"] > 300

    # The customer's preferred channel, not the template's first one (print).
    assert page.locator("select[name=channel]").input_value() == "email"
    page.locator("[data-preview-tab=email][aria-selected=true]").wait_for()
    page.locator("textarea[name='slot:case_summary']").fill("The expert visit for the water damage never happened.")
    page.locator("[data-preview-tab=print]").click()
    wait_for_preview(page, entry.reference, "3 December 2026", "still no expert visit")
    text = preview_text(page)
    assert f"Your letter of 3 December 2026, our reference {entry.reference}" in text, text
    assert old_complaint not in text
    page.locator("[data-problems]", has_text="Ready to generate").wait_for()
    screenshot(page, "reply-builder", docs="letter-reply-builder")

    page.locator("[data-generate]").click()
    page.wait_for_url(re.compile(r".*/admin/correspondence/letters/inspect/\d+/$"), timeout=60_000)
    reference = page.locator("[data-letter-reference]").inner_text().strip()
    page.locator("[data-in-reply-to]", has_text=entry.reference).wait_for()

    letter = Letter.objects.get(reference=reference)
    assert letter.in_reply_to == entry and letter.created_by == officer
    assert letter.channel == "email"
    assert letter.data["in_reply_to"] == {"reference": entry.reference, "date": "2026-12-03",
                                          "subject": entry.subject, "their_reference": ""}
    assert letter.subject == f"Your complaint {entry.reference}"
    for output in (letter.html, letter.email_text):
        assert entry.reference in output and entry.subject in output
        assert old_complaint not in output
    assert "Your letter of 3 December 2026, our reference " + entry.reference in letter.email_text
    assert Correspondence.objects.get(pk=entry.pk).status == Status.RESPONDED
