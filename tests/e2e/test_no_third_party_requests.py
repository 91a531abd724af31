"""A browser records the host of every request a few admin pages make (images, scripts,
styles, fonts, and what the pages' scripts fetch): only the site itself. A request to any
other host is recorded and aborted, never sent."""

from urllib.parse import urlsplit

import pytest

from tests import factories
from wagtail_correspondence import roles
from wagtail_correspondence.models import Department
from wagtail_correspondence.services import register as register_service

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LOOPBACK = {"127.0.0.1", "localhost"}


@pytest.fixture
def setup(transactional_db):
    department = Department.add_root(instance=Department(name="Customer Service", code="customer-service"))
    root = factories.user("root", superuser=True)
    officer = factories.user("officer", roles.OFFICERS)
    department.members.add(officer)
    entry = register_service.register_entry(root, subject="A question", kind="letter", channel="post",
                                            department=department, assignee=officer)
    dictionary = factories.dictionary()
    fragment = factories.fragment(dictionary, key="greeting")
    fragment.save_revision(user=officer)
    return entry, fragment


def test_admin_pages_request_nothing_but_the_site(setup, open_session, screenshot):
    entry, fragment = setup
    page = open_session("root", factories.PASSWORD)
    hosts = []

    def only_the_site(route):
        host = urlsplit(route.request.url).hostname
        hosts.append(host)
        if host in LOOPBACK:
            route.continue_()
        else:
            route.abort()  # recorded, never sent

    page.context.route("**/*", only_the_site)
    for url in ("/admin/", "/admin/account/", "/admin/users/", "/admin/correspondence/register/entries/",
                f"/admin/correspondence/register/entries/inspect/{entry.pk}/",
                f"/admin/correspondence/fragments/history/{fragment.pk}/", "/admin/correspondence/audit-log/"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
    screenshot(page, "audit-log")
    assert hosts, "no request was seen"
    assert set(hosts) <= LOOPBACK, sorted(set(hosts) - LOOPBACK)
