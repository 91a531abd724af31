"""The register's screens by clicking: an officer registers a letter with the customer
look-up and the date picker, then takes it through the action bar to closed, always on the
primary button; a supervisor clicks a bar of the dashboard's chart and lands on exactly
those entries in the register list."""

import re

import pytest
from django.utils import timezone
from wagtail.models import ModelLogEntry

from tests import factories
from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import Assignment, Correspondence, Department, Direction, RoutingRule, Status
from wagtail_correspondence.services import register as service

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SUBJECT = "Complaint about a late refund"


@pytest.fixture
def desk(transactional_db):
    service_desk = Department.add_root(name="Customer Service", code="customer-service")
    complaints = service_desk.add_child(name="Complaints", code="complaints")
    billing = service_desk.add_child(name="Billing", code="billing")
    officer = factories.user("officer", roles.OFFICERS, first_name="Olga", last_name="Officer")
    complaints.members.add(officer)
    supervisor = factories.user("supervisor", roles.SUPERVISORS, first_name="Sam", last_name="Supervisor")
    Department.objects.get(pk=service_desk.pk).members.add(supervisor)
    RoutingRule.objects.create(name="Complaints", sort_order=10, direction=Direction.INBOUND, keywords="complaint",
                               department=complaints, assignment=Assignment.ROUND_ROBIN)
    return {"officer": officer, "supervisor": supervisor, "complaints": complaints, "billing": billing}


def primary(page):
    return page.locator("[data-transition-form] [data-primary]")


def test_officer_registers_with_the_look_up_and_the_date_picker_and_closes_through_the_action_bar(
        desk, one_customer, open_session, screenshot):
    page = open_session("officer", factories.PASSWORD)
    page.locator("#wagtail-sidebar").get_by_role("button", name="Register", exact=True).click()
    page.get_by_role("link", name="Register incoming mail").click()
    page.locator("form[data-register-form]").wait_for()

    page.fill("input[name=subject]", SUBJECT)
    # The tags widget's own input is named by the field's label (axe found it unlabelled).
    page.get_by_role("textbox", name="Tags", exact=True).wait_for()
    # The customer look-up fills the sender from the record.
    page.get_by_label("Find the customer").fill("Peeters")
    page.locator("[data-customer-results] button[data-customer-id='C-1001']").click()
    page.locator("[data-customer-chosen]", has_text="Ada Peeters (C-1001)").wait_for()
    assert page.input_value("input[name=sender_name]") == "Ada Peeters"
    assert page.input_value("input[name=sender_email]") == "ada@example.org"
    assert page.input_value("textarea[name=sender_address]") == "Rue de la Loi 16\n1000 BRUSSELS"
    assert page.input_value("input[name=customer_id]") == "C-1001"
    screenshot(page, "customer-look-up", docs="register-customer-lookup")

    # Wagtail's date picker: the first day of this month.
    page.click("input[name=received_at]")
    picker = page.locator(".xdsoft_datetimepicker:visible")
    picker.locator("td.xdsoft_date:not(.xdsoft_other_month)[data-date='1']").click()
    page.keyboard.press("Escape")
    received = page.input_value("input[name=received_at]")
    assert received, "the picker wrote no date"

    page.locator("form[data-register-form] button[type=submit]", has_text="Register").click()
    entry_box = page.locator(".cc-entry[data-entry]")
    entry_box.wait_for()
    reference = entry_box.get_attribute("data-entry")
    assert entry_box.get_attribute("data-status") == Status.ASSIGNED

    # The action bar: a labelled comment, and the primary button is always the next step.
    expected = [("start", Status.IN_PROGRESS), ("respond", Status.RESPONDED), ("close", Status.CLOSED)]
    for action, status in expected:
        button = primary(page)
        assert button.get_attribute("data-transition") == action
        page.get_by_label("Comment").fill(f"Step {action}")
        button.click()
        page.locator(f".cc-entry[data-entry='{reference}'][data-status='{status}']").wait_for()
        if status == Status.RESPONDED:
            screenshot(page, "next-step-after-responded", docs="register-entry-next-step")
    assert primary(page).get_attribute("data-transition") == "reopen"

    entry = Correspondence.objects.get(reference=reference)
    assert (entry.customer_id, entry.sender_name, entry.status) == ("C-1001", "Ada Peeters", Status.CLOSED)
    assert "1000 BRUSSELS" in entry.sender_address
    assert timezone.localtime(entry.received_at).day == 1
    logs = ModelLogEntry.objects.for_instance(entry)
    moves = [(item.data["from"], item.data["to"])
             for item in logs.filter(action=log_actions.REGISTER_TRANSITIONED).order_by("pk")]
    assert moves == [("assigned", "in_progress"), ("in_progress", "responded"), ("responded", "closed")]
    assert any(item.data.get("customer_id") == "C-1001"
               for item in ModelLogEntry.objects.filter(action=log_actions.CUSTOMER_RECORD_VIEWED))


def test_supervisor_clicks_a_bar_and_lands_on_the_filtered_list(desk, open_session, screenshot):
    supervisor = desk["supervisor"]
    billing = [service.register_entry(supervisor, subject=f"Billing question {n}", kind="letter", channel="post",
                                      department=desk["billing"]) for n in range(3)]
    other = service.register_entry(supervisor, subject="A question for the complaints team", kind="letter",
                                   channel="post", department=desk["complaints"])
    page = open_session("supervisor", factories.PASSWORD)
    figure = page.locator("[data-volumes-chart]")
    figure.wait_for()
    page.wait_for_function("() => document.querySelector('[data-volumes-chart]').chart !== undefined")
    assert page.locator("input[type=search][placeholder*='Search all pages']").count() == 0
    # Where Chart.js drew this week's Billing bar.
    point = page.evaluate("""() => {
        const chart = document.querySelector('[data-volumes-chart]').chart;
        const index = chart.data.datasets.findIndex(set => set.label === 'Billing');
        const bar = chart.getDatasetMeta(index).data[chart.data.labels.length - 1];
        return {x: bar.x, y: (bar.y + bar.base) / 2, count: chart.data.datasets[index].data.at(-1),
                x_title: chart.options.scales.x.title.text, y_title: chart.options.scales.y.title.text,
                legend: chart.options.plugins.legend.position};
    }""")
    assert point["count"] == 3 and point["x_title"] == "Week starting" and point["y_title"] == "Entries registered"
    figure.scroll_into_view_if_needed()
    screenshot(page, "dashboard-volumes", docs="register-dashboard-volumes")
    box = page.locator("[data-chart-canvas]").bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_url(re.compile(r".*/admin/correspondence/register/entries/\?.*department=billing.*"))
    assert "department_only=1" in page.url and "registered_at_from=" in page.url
    rows = page.locator("tr[data-entry]")
    rows.first.wait_for()
    assert {row.get_attribute("data-entry") for row in rows.all()} == {entry.reference for entry in billing}
    assert other.reference not in page.content()
    assert "Billing only" in page.locator("select#cc-filter-department option[selected]").inner_text()
    screenshot(page, "filtered-list", docs="register-list-filters")
