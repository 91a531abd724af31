"""The merge-field picker: what it offers for a dictionary, who may read it, and that what it
inserts passes the checks on save. The data dictionary's fields edited as a table."""

import re

import pytest
from django.urls import reverse

from wagtail_correspondence import roles, schema
from wagtail_correspondence.merge_fields import FILTER_FOR_TYPE, merge_tag, picker_entries
from wagtail_correspondence.models import DataDictionary
from wagtail_correspondence.rendering.formatting import FILTERS
from wagtail_correspondence.rendering.fragments import check_fragment_body, render_fragment_body

from . import factories

pytestmark = pytest.mark.django_db


def picker_url(dictionary):
    return reverse("wagtailsnippets_wagtail_correspondence_datadictionary:merge_fields", args=[dictionary.pk])


# What is inserted -------------------------------------------------------------------------

@pytest.mark.parametrize("field_type, tag", [
    (schema.MONEY, "{{ balance|money }}"),
    (schema.DATE, "{{ balance|date }}"),
    (schema.NUMBER, "{{ balance|number }}"),
    (schema.ADDRESS, "{{ balance|address }}"),
    (schema.BOOLEAN, "{{ balance|yesno }}"),
    (schema.TEXT, "{{ balance }}"),
    (schema.EMAIL, "{{ balance }}"),
    (schema.PHONE, "{{ balance }}"),
])
def test_each_type_is_inserted_with_its_usual_filter(field_type, tag):
    assert merge_tag("balance", field_type) == tag


def test_every_filter_the_picker_inserts_is_one_the_sandbox_knows():
    assert set(FILTER_FOR_TYPE.values()) <= set(FILTERS)


def test_entries_follow_the_dictionary_and_read_list_fields_through_the_item(customer_dictionary):
    entries = {entry["path"]: entry for entry in picker_entries(customer_dictionary.field_specs())}
    assert entries["balance"] == {
        "path": "balance", "label": "Outstanding balance", "type": "money", "type_label": "Money amount",
        "help": "", "example": "", "tag": "{{ balance|money }}", "list": "", "group": ""}
    assert entries["customer.address"]["tag"] == "{{ customer.address|address }}"
    assert entries["due_date"]["tag"] == "{{ due_date|date }}"
    assert entries["customer.first_name"]["tag"] == "{{ customer.first_name }}"
    # A list is gone over by a Repeating list block; its sub-fields read through the item.
    assert "invoices" not in entries
    assert entries["invoices.amount"]["tag"] == "{{ item.amount|money }}"
    assert entries["invoices.amount"]["list"] == "invoices"
    assert "Open invoices" in entries["invoices.amount"]["group"]
    assert list(entries) == [spec.name for spec in customer_dictionary.field_specs() if spec.type != "list"]


def test_what_the_picker_inserts_passes_the_checks_on_save_and_renders(customer_dictionary):
    entries = picker_entries(customer_dictionary.field_specs())
    top_level = " ".join(entry["tag"] for entry in entries if not entry["list"])
    in_list = " ".join(entry["tag"] for entry in entries if entry["list"])
    body = factories.fragment_body(factories.rich_text(f"<p>{top_level}</p>"), ("repeating_list", {
        "source": "invoices", "item_name": "item", "style": "bullets", "columns": [], "empty_text": "",
        "item_text": factories.RichText(f"<p>{in_list}</p>")}))
    assert check_fragment_body(body, customer_dictionary.field_index()) == []
    html = render_fragment_body(body, customer_dictionary.coerce_payload(factories.SAMPLE_DATA))
    assert "€250.00" in html and "Rue de la Loi 16" in html and "INV-2" in html


# Who may read the list ------------------------------------------------------------------------

def test_an_author_reads_the_fields_of_a_dictionary(client, customer_dictionary):
    client.force_login(factories.user("author", roles.CONTENT_AUTHORS))
    response = client.get(picker_url(customer_dictionary))
    assert response.status_code == 200
    payload = response.json()
    assert payload["dictionary"] == {"id": customer_dictionary.pk, "name": "Customer"}
    assert {"path": "balance", "tag": "{{ balance|money }}"}.items() <= next(
        entry for entry in payload["fields"] if entry["path"] == "balance").items()
    assert "no-store" in response["Cache-Control"]


def test_a_reviewer_reads_them_too(client, customer_dictionary):
    client.force_login(factories.user("reviewer", roles.CONTENT_REVIEWERS))
    assert client.get(picker_url(customer_dictionary)).status_code == 200


@pytest.mark.parametrize("role", [roles.AGENTS, roles.OFFICERS, roles.AUDITORS])
def test_who_writes_no_content_is_refused(client, customer_dictionary, role):
    client.force_login(factories.user("someone", role))
    response = client.get(picker_url(customer_dictionary))
    # Refused as the admin refuses a permission: back to the dashboard with a message.
    assert response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")
    assert b"balance" not in response.content


def test_an_anonymous_caller_is_sent_to_the_login(client, customer_dictionary):
    response = client.get(picker_url(customer_dictionary))
    assert response.status_code == 302
    assert reverse("wagtailadmin_login") in response["Location"]


def test_an_unknown_dictionary_is_not_found(client, customer_dictionary):
    client.force_login(factories.user("author", roles.CONTENT_AUTHORS))
    assert client.get(reverse("wagtailsnippets_wagtail_correspondence_datadictionary:merge_fields",
                              args=[customer_dictionary.pk + 1000])).status_code == 404


# Where the picker appears ---------------------------------------------------------------------

def test_the_editors_load_the_picker_with_its_endpoint(client, customer_dictionary):
    fragment = factories.fragment(customer_dictionary)
    client.force_login(factories.user("author", roles.CONTENT_AUTHORS))
    html = client.get(reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[fragment.pk])).content
    html = html.decode()
    script = re.search(r'<script src="[^"]*merge-fields\.js[^"]*" data-merge-fields-url="([^"]+)"', html)
    assert script and picker_url(customer_dictionary).startswith(script.group(1))
    # The rich-text editor is configured with the picker's control.
    assert "merge-field" in html and "&quot;controls&quot;" in html


# The data dictionary as a table -----------------------------------------------------------------

def dictionary_form(dictionary, **changes):
    """The dictionary's edit form as the browser posts it, with ``changes`` to field rows."""
    fields = list(dictionary.fields.all())
    data = {"name": dictionary.name, "description": dictionary.description,
            "fields-TOTAL_FORMS": str(len(fields)), "fields-INITIAL_FORMS": str(len(fields)),
            "fields-MIN_NUM_FORMS": "0", "fields-MAX_NUM_FORMS": "1000",
            "sample_data_sets-TOTAL_FORMS": "0", "sample_data_sets-INITIAL_FORMS": "0",
            "sample_data_sets-MIN_NUM_FORMS": "0", "sample_data_sets-MAX_NUM_FORMS": "1000",
            "rules-TOTAL_FORMS": "0", "rules-INITIAL_FORMS": "0",
            "rules-MIN_NUM_FORMS": "0", "rules-MAX_NUM_FORMS": "1000"}
    for index, field in enumerate(fields):
        prefix = f"fields-{index}-"
        data.update({prefix + "id": str(field.pk), prefix + "ORDER": str(index + 1), prefix + "DELETE": "",
                     prefix + "name": field.name, prefix + "label": field.label,
                     prefix + "field_type": field.field_type, prefix + "example": field.example,
                     prefix + "help_text": field.help_text})
        if field.required:
            data[prefix + "required"] = "on"
    data.update(changes)
    return data


def test_the_fields_are_one_table_row_each(client, customer_dictionary):
    client.force_login(factories.user("author", roles.CONTENT_AUTHORS))
    url = reverse("wagtailsnippets_wagtail_correspondence_datadictionary:edit", args=[customer_dictionary.pk])
    html = client.get(url).content.decode()
    start = html.index('<table class="field-table">')
    table = html[start:html.index("</table>", start)]
    rows = re.findall(r'<tr data-inline-panel-child id="inline_child_fields-\d+"', table)
    assert len(rows) == customer_dictionary.fields.count()
    for column in ("Name", "Label", "Type", "Required", "Example", "Help"):
        assert f'<th scope="col">{column}</th>' in table
    # Every input keeps a label of its own.
    assert '<label class="w-sr-only" for="id_fields-0-name">Name</label>' in table


def test_a_bad_field_name_is_shown_in_its_own_cell_named(client, customer_dictionary):
    client.force_login(factories.user("author", roles.CONTENT_AUTHORS))
    url = reverse("wagtailsnippets_wagtail_correspondence_datadictionary:edit", args=[customer_dictionary.pk])
    response = client.post(url, dictionary_form(customer_dictionary, **{"fields-2-name": "Customer First"}))
    assert response.status_code == 200
    html = response.content.decode()
    row = html[html.index('id="inline_child_fields-2"'):]
    row = row[:row.index("</tr>")]
    assert 'id="id_fields-2-name-error"' in row
    assert "Name: Use lower-case words separated by dots" in row
    assert DataDictionary.objects.get(pk=customer_dictionary.pk).fields.filter(name="customer.first_name").exists()


def test_a_label_edited_in_the_table_is_saved(client, customer_dictionary):
    client.force_login(factories.user("author", roles.CONTENT_AUTHORS))
    url = reverse("wagtailsnippets_wagtail_correspondence_datadictionary:edit", args=[customer_dictionary.pk])
    response = client.post(url, dictionary_form(customer_dictionary, **{"fields-9-label": "Amount due"}))
    assert response.status_code == 302
    assert customer_dictionary.fields.get(name="balance").label == "Amount due"


@pytest.mark.parametrize("row, name, message", [
    (3, "customer.first_name", "The field name 'customer.first_name' is used twice"),
    (9, "customer.title.short", "'customer.title.short' cannot sit under 'customer.title', which is a text field"),
])
def test_a_problem_between_fields_is_shown_on_its_row_not_a_500(client, customer_dictionary, row, name, message):
    client.force_login(factories.user("author", roles.CONTENT_AUTHORS))
    url = reverse("wagtailsnippets_wagtail_correspondence_datadictionary:edit", args=[customer_dictionary.pk])
    before = list(customer_dictionary.fields.values_list("name", flat=True))
    response = client.post(url, dictionary_form(customer_dictionary, **{f"fields-{row}-name": name}))
    assert response.status_code == 200
    html = response.content.decode()
    cell = html[html.index(f'id="inline_child_fields-{row}"'):]
    cell = cell[:cell.index("</tr>")]
    assert f'id="id_fields-{row}-name-error"' in cell
    assert f"Name: {message}".replace("'", "&#x27;") in cell
    assert list(customer_dictionary.fields.values_list("name", flat=True)) == before  # nothing saved
