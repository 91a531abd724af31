"""An agent tailors a claim update within the template's bounds, clicked through: they edit the
apology (a word made bold, a sentence added), take a next step out, move one up, add a page
break and the step again after it, tick an enclosure; the changed wording holds the letter for approval; the supervisor
reads the redline against the approved wording and approves it; the email goes out with the
sealed PDF (enclosure included) and the enclosure attached, and the seal validates."""

import io
import re
import subprocess

import pytest
from correspondence_demo import seal as demo_seal

from wagtail_correspondence import pdf_seal
from wagtail_correspondence.models import Dispatch, Letter, LetterStatus
from wagtail_correspondence.services.dispatch import process_dispatch

from ..test_dispatch import SmtpServer
from .builder import open_builder
from .test_letter_journey import PASSWORD, demo  # noqa: F401 (demo: a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CUSTOMER_ID, CUSTOMER_NAME = "C-1001", "Ada Peeters"  # prefers email
LETTER_PAGE = re.compile(r".*/admin/correspondence/letters/inspect/\d+/$")
SELECT_WORD = """([root, word]) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const at = node.data.indexOf(word);
        if (at < 0) continue;
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + word.length);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        return true;
    }
    return false;
}"""


@pytest.fixture
def sealing_and_smtp(settings, tmp_path):
    folder = tmp_path / "seal"
    demo_seal.create(folder, "Northwind Mutual")
    server = SmtpServer()
    server.start()
    settings.WAGTAIL_CORRESPONDENCE = {
        **settings.WAGTAIL_CORRESPONDENCE, "PDF_SEAL": demo_seal.settings_for(folder),
        "CHANNEL_BACKENDS": {"email": {"BACKEND": "wagtail_correspondence.delivery.email.EmailChannel", "OPTIONS": {
            "connection": {"backend": "django.core.mail.backends.smtp.EmailBackend", "host": "127.0.0.1",
                           "port": server.port, "timeout": 5}}}}}
    yield server
    server.stop()


def preview_source(page):
    return page.locator("iframe[data-preview-frame]").evaluate("frame => frame.srcdoc")


def test_an_agent_tailors_a_letter_and_the_supervisor_approves_the_redline(demo, sealing_and_smtp,  # noqa: F811
                                                                           open_session, screenshot):
    agent = open_session("agent", PASSWORD)
    open_builder(agent, "claim-update", "Peeters", CUSTOMER_NAME, CUSTOMER_ID)
    apology = agent.locator("[data-tailor=apology]")
    editor_box = apology.locator("[data-tailor-editor-box]")
    assert editor_box.is_hidden()  # the approved wording until the agent chooses to edit it
    apology.get_by_label("Edit the wording").check()
    editor = editor_box.locator("[contenteditable=true]")
    editor.wait_for()
    # Bold a word, then fix a sentence: add one at the end of the paragraph.
    assert agent.evaluate(SELECT_WORD, [editor.element_handle(), "sorry"])
    agent.keyboard.press("Control+b")
    editor.click()
    agent.keyboard.press("Control+End")
    agent.keyboard.type(" Your case is now with our senior claims handler.")

    # Next steps (the template starts with all three): take one out, move one up, then add it
    # back after a page break.
    items = agent.locator("[data-zone-item]")

    def zone():
        return [items.nth(index).get_attribute("data-zone-item") for index in range(items.count())]

    assert zone() == ["claim-documents", "claim-expert-visit", "claim-advance-payment"]
    agent.get_by_role("button", name="Remove: Claim: advance payment").click()
    agent.get_by_role("button", name="Move up: Claim: expert visit").click()
    zone_choice = agent.locator("[data-zone-add-choice=next_steps]")
    zone_choice.select_option(label="Page break")
    agent.locator("[data-zone-add=next_steps]").click()
    zone_choice.select_option(label="Claim: advance payment")
    agent.locator("[data-zone-add=next_steps]").click()
    assert zone() == ["claim-expert-visit", "claim-documents", "page_break", "claim-advance-payment"]
    agent.get_by_label("Claim form").check()
    agent.locator("[data-problems]", has_text="Ready to generate").wait_for()
    apology.scroll_into_view_if_needed()
    agent.wait_for_function("""() => {
        const source = document.querySelector('iframe[data-preview-frame]').srcdoc;
        return source.includes('<b>sorry</b>') && source.includes('senior claims handler')
            && source.indexOf('Expert visit') < source.indexOf('Documents.') && source.indexOf('Expert visit') > 0;
    }""")
    screenshot(agent, "tailored-letter-in-the-builder", docs="letter-tailoring")
    agent.locator("[data-generate]").click()
    agent.wait_for_url(LETTER_PAGE, timeout=60_000)
    assert agent.locator("[data-letter-status]").get_attribute("data-letter-status") == "pending_approval"
    assert "Claim updates with changed wording" in agent.locator("[data-approval-reasons]").inner_text()
    reference = agent.locator("[data-letter-reference]").inner_text().strip()
    letter = Letter.objects.get(reference=reference)
    assert not Dispatch.objects.filter(letter=letter).exists()

    supervisor = open_session("supervisor", PASSWORD)
    supervisor.locator(f"[data-approval-queue] [data-letter='{reference}'] a").click()
    supervisor.wait_for_url(LETTER_PAGE)
    redline = supervisor.locator("[data-tailoring]")
    assert redline.locator("ins strong", has_text="sorry").count() == 1
    assert "senior claims handler" in redline.locator("ins").all_inner_texts()[-1]
    assert redline.locator("del", has_text="sorry").count() == 1
    redline.scroll_into_view_if_needed()
    screenshot(supervisor, "supervisor-reads-the-redline", docs="letter-tailoring-redline")
    supervisor.locator("#cc-approval-comment").fill("Fine.")
    supervisor.locator("[data-approve]").click()
    supervisor.wait_for_url(LETTER_PAGE)
    assert supervisor.locator("[data-letter-status]").get_attribute("data-letter-status") == "generated"

    # The email goes out through a real SMTP server, once (the worker's task ran on approval;
    # processing the dispatch again sends nothing more).
    letter = Letter.objects.get(reference=reference)
    assert letter.status == LetterStatus.GENERATED and letter.approved_by.username == "supervisor"
    email_dispatch = Dispatch.objects.get(letter=letter, channel="email")
    process_dispatch(email_dispatch.pk)
    email_dispatch.refresh_from_db()
    assert email_dispatch.status == "sent"
    [message] = sealing_and_smtp.mailbox.messages
    assert message["To"] == "ada.peeters@example.org"
    attachments = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    letter_pdf = attachments[f"{reference}.pdf"]
    assert "Claim form.pdf" in attachments
    text = subprocess.run(["pdftotext", "-", "-"], input=letter_pdf, capture_output=True, check=True).stdout.decode()
    assert "Your case is now with our senior claims handler." in text and "CLAIM FORM" in text
    assert text.index("Expert visit") < text.index("Documents.")
    check = pdf_seal.check_seal(letter_pdf, certificate=letter.pdf_sealed_by)
    assert check.ok, check.problem
    assert io.BytesIO(attachments["Claim form.pdf"]).read().startswith(b"%PDF")
