"""A customer opens the portal link from their email, reads the letter, acknowledges it and
replies with a scan; a tampered link is refused."""

import copy
import re

import pytest
from django.core import mail

from tests import factories
from wagtail_correspondence import roles
from wagtail_correspondence.models import PortalResponse
from wagtail_correspondence.services import letters as service

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def letter(transactional_db, customers):
    customers(factories.SAMPLE_DATA)
    agent = factories.user("agent", roles.AGENTS)
    dictionary = factories.dictionary()
    fragment = factories.fragment(dictionary, key="greeting",
                                  html="<p>Dear {{ customer.first_name }}, please pay {{ balance|money }}.</p>")
    template = factories.letter_template(dictionary, factories.layout(), [fragment], channels=["print", "portal"])
    # transactional: the outbox hands the dispatch to the (immediate) task backend on commit
    return service.generate_letter(agent, service.LetterRequest(
        template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="portal"))


def test_customer_reads_acknowledges_and_replies(browser, live_server, letter, screenshot, tmp_path):
    [message] = mail.outbox
    path = re.search(r"https?://[^/\s]+(/portal/letters/\S+/)", message.body).group(1)
    page = browser.new_page()
    page.goto(live_server.url + path)
    assert page.locator("[data-portal-reference]").inner_text() == letter.reference
    frame = page.frame_locator("iframe")
    frame.get_by_text("Dear Ada, please pay €250.00.").wait_for()
    screenshot(page, "portal-letter")

    page.get_by_role("button", name="I have received this letter").click()
    page.locator("[data-acknowledged]").wait_for()

    scan = tmp_path / "receipt.pdf"
    scan.write_bytes(PDF_BYTES)
    page.locator("textarea[name=text]").fill("I paid by transfer on Monday.")
    page.locator("input[name=attachment]").set_input_files(str(scan))
    page.get_by_role("button", name="Send my reply").click()
    page.get_by_text("your reply has reached us").wait_for()
    screenshot(page, "portal-replied")
    reply = letter.portal_responses.get(kind=PortalResponse.REPLY)
    assert reply.text == "I paid by transfer on Monday." and reply.attachment_type == "application/pdf"
    assert letter.portal_responses.filter(kind=PortalResponse.ACKNOWLEDGEMENT).count() == 1

    page.goto(live_server.url + path[:-6] + "xxxxx/")
    page.locator("[data-invalid-link]").get_by_text("This link is not valid").wait_for()
    screenshot(page, "portal-tampered")
    page.close()
