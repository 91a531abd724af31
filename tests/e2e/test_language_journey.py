"""An officer who reads Dutch picks Nederlands in the account settings and works in Dutch from
then on: the sidebar, the dashboard, the registration form (its button says the verb,
"Registreren") and the message after registering."""

import pytest

from tests import factories
from wagtail_correspondence import roles
from wagtail_correspondence.models import Correspondence, Department

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("one_customer")]


@pytest.fixture
def setup(transactional_db):
    service_desk = Department.add_root(name="Customer Service", code="customer-service")
    officer = factories.user("officer", roles.OFFICERS, first_name="Olga", last_name="Officer")
    service_desk.members.add(officer)
    return {"officer": officer}


def test_an_officer_switches_to_dutch_and_registers_mail_in_dutch(setup, open_session, screenshot):
    page = open_session("officer", factories.PASSWORD)
    page.goto(page.url.split("/admin/")[0] + "/admin/account/")
    page.select_option("select[name='locale-preferred_language']", "nl")
    page.locator("form button[type=submit]").last.click()
    page.locator(".messages .success").wait_for()
    assert page.locator("html").get_attribute("lang") == "nl"

    page.goto(page.url.split("/admin/")[0] + "/admin/")
    page.get_by_role("heading", name="Mijn werk").wait_for()
    screenshot(page, "dashboard-dutch", docs="language-dashboard-dutch")
    page.locator("#wagtail-sidebar").get_by_role("button", name="Register", exact=True).click()
    page.get_by_role("link", name="Inkomende post registreren").click()
    form = page.locator("form[data-register-form]")
    form.wait_for()
    page.select_option("select[name=kind]", "letter")
    page.fill("input[name=subject]", "Vraag over mijn polis")
    page.fill("input[name=sender_name]", "Ada Peeters")
    screenshot(page, "register-form-dutch", docs="language-register-form-dutch")
    form.get_by_role("button", name="Registreren").click()

    entry = page.locator(".cc-entry[data-entry]")
    entry.wait_for()
    reference = entry.get_attribute("data-entry")
    assert Correspondence.objects.filter(reference=reference, subject="Vraag over mijn polis").exists()
    message = page.locator(".messages").inner_text()
    assert reference in message and "Registered" not in message, message
