"""An author inserts a merge field with the picker instead of typing it, and edits the data
dictionary in its table of fields."""

import re

import pytest
from django.urls import reverse

from correspondence_demo.content import FIELDS as DEMO_FIELDS
from tests import factories
from wagtail_correspondence import roles

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(transactional_db):
    factories.user("author", roles.CONTENT_AUTHORS)
    dictionary = factories.dictionary()
    fragment = factories.fragment(dictionary, key="payment-reminder", html="<p>Please pay</p>")
    return dictionary, fragment


def draft_text(fragment):
    fragment.refresh_from_db()
    return fragment.latest_revision.as_object().body[0].value.source


def test_author_inserts_a_merge_field_with_the_picker(setup, open_session, screenshot):
    dictionary, fragment = setup
    page = open_session("author", factories.PASSWORD)
    page.goto(reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[fragment.pk]))
    # The editable text has a name for assistive technology: its block's heading.
    editor = page.get_by_role("textbox", name=re.compile(r"^Rich text"))
    editor.click()
    page.keyboard.press("End")
    page.keyboard.type(" ")

    page.get_by_role("button", name="Insert merge field").click()
    picker = page.get_by_role("dialog", name="Insert a merge field")
    option = picker.locator(".merge-field-picker__option:not([hidden])")
    # A list's sub-fields belong in a repeating list, not in this text.
    picker.get_by_label("Search the fields").fill("invoice amount")
    picker.get_by_text("No field matches.").wait_for()
    assert option.count() == 0
    picker.get_by_label("Search the fields").fill("balance")
    assert option.count() == 1  # the search narrowed the dictionary's fields to one
    assert option.inner_text().split("\n")[:2] == ["Outstanding balance", "Money amount"]
    screenshot(page, "picker-searched", docs="merge-field-picker")
    option.click()
    assert not picker.is_visible()

    page.keyboard.type(" today.")  # the caret is after the inserted field
    page.locator("#id_title").click()  # blur: Draftail serialises into its hidden input
    page.wait_for_function("() => document.querySelector('input[name=\"body-0-value\"]').value.includes('today.')")
    screenshot(page, "picker-inserted")
    page.get_by_role("button", name="Save draft").click()
    page.locator(".messages, [data-w-messages-target]").first.wait_for()
    assert page.locator(".error-message").count() == 0

    text = draft_text(fragment)
    assert "Please pay {{ balance|money }} today." in text
    assert fragment.check_merge_fields() == []  # it passes the checks on save
    screenshot(page, "picker-saved")


def test_author_edits_the_dictionary_in_its_table(setup, open_session, screenshot):
    # The demo's dictionary: 25 fields, three sample data sets.
    dictionary = factories.dictionary(name="Demo customer", fields=[field[:4] for field in DEMO_FIELDS])
    page = open_session("author", factories.PASSWORD)
    page.goto(reverse("wagtailsnippets_wagtail_correspondence_datadictionary:edit", args=[dictionary.pk]))
    table = page.locator("table.field-table")
    rows = table.locator("tbody > tr")
    assert rows.count() == dictionary.fields.count()
    # Compact: the whole editor is far shorter than a page per field.
    height = page.evaluate("document.querySelector('main').scrollHeight")
    assert height < 2500, height
    screenshot(page, "dictionary-table", docs="data-dictionary-fields")

    balance = rows.filter(has=page.locator("input[value='balance']"))
    balance.get_by_label("Label").fill("Amount due")
    # A field added by its button gets a row of its own.
    page.get_by_role("button", name="Add a field").click()
    assert rows.count() == dictionary.fields.count() + 1
    new_row = rows.last
    new_row.get_by_label("Name").fill("customer.segment")
    new_row.get_by_label("Label").fill("Segment")
    page.get_by_role("button", name="Save").click()
    page.locator(".messages, [data-w-messages-target]").first.wait_for()

    dictionary.refresh_from_db()
    assert dictionary.fields.get(name="balance").label == "Amount due"
    assert dictionary.fields.get(name="customer.segment").label == "Segment"
    screenshot(page, "dictionary-saved")


def test_author_inserts_a_merge_field_in_a_template_subject(setup, open_session, screenshot):
    dictionary, fragment = setup
    fragment.save_revision().publish()
    template = factories.letter_template(dictionary, factories.layout(), [fragment], subject="Your account")
    page = open_session("author", factories.PASSWORD)
    page.goto(reverse("wagtailadmin_pages:edit", args=[template.pk]))
    subject = page.locator("#id_subject")
    subject.click()
    page.keyboard.press("End")
    page.keyboard.type(": due ")
    page.get_by_role("button", name="Insert merge field: Subject").click()
    picker = page.get_by_role("dialog", name="Insert a merge field")
    picker.get_by_label("Search the fields").fill("due date")
    picker.get_by_label("Search the fields").press("Enter")  # the first match
    assert subject.input_value() == "Your account: due {{ due_date|date }}"
    page.keyboard.type(".")  # the caret is after the inserted field
    assert subject.input_value() == "Your account: due {{ due_date|date }}."
    screenshot(page, "subject-picked")
    page.get_by_role("button", name="Save draft").click()
    page.locator(".messages, [data-w-messages-target]").first.wait_for()
    assert page.locator(".error-message").count() == 0
    template.refresh_from_db()
    assert template.get_latest_revision_as_object().subject == "Your account: due {{ due_date|date }}."


def test_author_reorders_and_removes_dictionary_fields(setup, open_session):
    dictionary, _fragment = setup
    page = open_session("author", factories.PASSWORD)
    page.goto(reverse("wagtailsnippets_wagtail_correspondence_datadictionary:edit", args=[dictionary.pk]))
    rows = page.locator("table.field-table tbody > tr")
    due_date = rows.filter(has=page.locator("input[value='due_date']"))
    due_date.locator("[data-inline-panel-child-move-up]").click()  # above balance
    rows.filter(has=page.locator("input[value='customer.vip']")).get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Save").click()
    page.locator(".messages, [data-w-messages-target]").first.wait_for()
    names = list(dictionary.fields.order_by("sort_order").values_list("name", flat=True))
    assert "customer.vip" not in names
    assert names.index("due_date") == names.index("balance") - 1


def test_in_a_repeating_list_the_picker_offers_its_items(setup, open_session):
    dictionary, _fragment = setup
    fragment = factories.fragment(dictionary, key="open-invoices", body=factories.fragment_body(("repeating_list", {
        "source": "invoices", "item_name": "invoice", "style": "table", "empty_text": "",
        "columns": [{"heading": "Amount", "value": ""}], "item_text": factories.RichText("")})))
    page = open_session("author", factories.PASSWORD)
    page.goto(reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[fragment.pk]))
    value = page.locator("input[data-merge-field-input]")
    page.get_by_role("button", name=re.compile("^Insert merge field: Value")).click()
    picker = page.get_by_role("dialog", name="Insert a merge field")
    picker.get_by_label("Search the fields").fill("invoice amount")
    picker.get_by_label("Search the fields").press("Enter")
    # Read through the block's own item name.
    assert value.input_value() == "{{ invoice.amount|money }}"
    page.get_by_role("button", name="Save draft").click()
    page.locator(".messages, [data-w-messages-target]").first.wait_for()
    assert page.locator(".error-message").count() == 0
    fragment.refresh_from_db()
    saved = fragment.latest_revision.as_object().body[0].value
    assert saved["columns"][0]["value"] == "{{ invoice.amount|money }}"
    assert fragment.latest_revision.as_object().check_merge_fields() == []
