"""What a person reads: an author finds the letter templates under "Letter templates" in the
menu and edits one without Wagtail's web page furniture; dates read the same way on the
register list, an entry, a letter's page and the portal."""

import copy
import datetime
import re

import pytest
from django.core import mail

from tests import factories
from wagtail_correspondence import roles
from wagtail_correspondence.models import Correspondence, Letter
from wagtail_correspondence.services import letters as service

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# 20:52 UTC is 21:52 in Brussels, the site's time zone.
MOMENT = datetime.datetime(2026, 12, 4, 20, 52, tzinfo=datetime.timezone.utc)
OTHER_FORMATS = re.compile(r"12/04/2026|[ap]\.m\.|Dec\. 4|December 4|2026-12-04")


def test_an_author_reaches_the_templates_through_letter_templates_and_meets_no_page_words(
        open_session, transactional_db, customer_dictionary, standard_layout, screenshot):
    factories.letter_template(customer_dictionary, standard_layout, [factories.fragment(customer_dictionary)])
    factories.user("alice", roles.CONTENT_AUTHORS)
    page = open_session("alice", factories.PASSWORD)

    sidebar = page.locator("aside")
    assert sidebar.get_by_role("link", name="Pages", exact=True).count() == 0
    sidebar.get_by_role("link", name="Letter templates").click()
    page.get_by_role("heading", name="Letter templates").wait_for()
    assert "no site record" not in page.content()
    screenshot(page, "letter-templates", docs="letter-templates")

    page.get_by_role("link", name="Payment reminder").first.click()
    page.get_by_role("tab", name="Content").wait_for()
    tabs = page.get_by_role("tab").all_inner_texts()
    assert "Channel variants" in tabs and "Promote" not in tabs and "Settings" not in tabs
    page.get_by_text("Name of the template, as agents see it when they choose one").wait_for()
    assert "seen by the public" not in page.content()
    page.locator("button[data-side-panel-toggle=status]").click()
    page.get_by_text("Unlocked").wait_for()
    assert page.get_by_text("Visible to all").count() == 0
    screenshot(page, "template-editor", docs="letter-template-editor")


def test_dates_read_the_same_on_the_register_list_an_entry_a_letter_and_the_portal(
        open_session, browser, live_server, transactional_db, customers, customer_dictionary, standard_layout,
        screenshot):
    customers(factories.SAMPLE_DATA)
    agent = factories.user("agent", roles.AGENTS)
    template = factories.letter_template(customer_dictionary, standard_layout,
                                         [factories.fragment(customer_dictionary)], channels=["print", "portal"])
    letter = service.generate_letter(agent, service.LetterRequest(
        template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="portal"))
    Letter.objects.filter(pk=letter.pk).update(created_at=MOMENT, generated_at=MOMENT)
    Correspondence.objects.filter(reference=letter.reference).update(registered_at=MOMENT, sent_at=MOMENT)
    factories.user("root", superuser=True)
    page = open_session("root", factories.PASSWORD)

    def shows(expected):
        text = page.locator("main").inner_text()
        assert expected in text
        assert not OTHER_FORMATS.search(text), OTHER_FORMATS.search(text).group(0)

    page.goto("/admin/correspondence/register/entries/")
    row = page.locator(f"[data-entry='{letter.reference}']")
    assert "4 Dec 2026" in row.inner_text()
    shows("4 Dec 2026")
    screenshot(page, "register-list")
    row.get_by_role("link", name="Inspect").click()
    page.wait_for_url(re.compile(r"/inspect/"))
    shows("4 Dec 2026, 21:52")
    screenshot(page, "register-entry")

    page.goto(f"/admin/correspondence/letters/inspect/{letter.pk}/")
    shows("4 Dec 2026, 21:52")
    screenshot(page, "letter")

    path = re.search(r"https?://[^/\s]+(/portal/letters/\S+/)", mail.outbox[0].body).group(1)
    portal = browser.new_page()
    portal.goto(live_server.url + path)
    text = portal.locator("main").inner_text()
    assert "4 Dec 2026" in text and not OTHER_FORMATS.search(text)
    screenshot(portal, "portal")
    portal.close()
