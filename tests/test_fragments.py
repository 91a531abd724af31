"""Fragments: merge fields checked on save with their location, previews, usability, usage."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from wagtail.blocks import StreamValue

from wagtail_correspondence.blocks import FragmentBodyBlock
from wagtail_correspondence.models import SampleDataSet
from wagtail_correspondence.rendering.fragments import check_fragment_body, render_fragment_body
from wagtail_correspondence.services.usage import fragment_usage

from . import factories
from .factories import fragment_body, rich_text


def conditional(condition, html, otherwise_html=None):
    return ("conditional", {
        "condition": condition,
        "content": [("rich_text", factories.RichText(html))],
        "otherwise": [("rich_text", factories.RichText(otherwise_html))] if otherwise_html else [],
    })


def invoice_table(source="invoices", value="{{ item.amount|money }}"):
    return ("repeating_list", {
        "source": source, "item_name": "item", "style": "table", "empty_text": "No open invoices",
        "columns": [{"heading": "Invoice", "value": "{{ item.number }}"}, {"heading": "Amount", "value": value}],
        "item_text": factories.RichText(""),
    })


def body_from_raw(*blocks):
    block = FragmentBodyBlock()
    return StreamValue(block, [(name, block.child_blocks[name].to_python(value)) for name, value in blocks])


def test_unknown_merge_field_is_a_validation_error_with_location(customer_dictionary):
    fragment = factories.fragment(customer_dictionary, publish=False)
    fragment.body = fragment_body(rich_text("<p>Hello</p>"), rich_text("<p>Dear {{ customer.frist_name }}</p>"))
    with pytest.raises(ValidationError) as excinfo:
        fragment.full_clean()
    messages = excinfo.value.message_dict["body"]
    assert messages == ["Block 2 (Rich text): unknown merge field 'customer.frist_name'"]


def test_syntax_error_is_a_validation_error_with_location(customer_dictionary):
    fragment = factories.fragment(customer_dictionary, publish=False)
    fragment.body = fragment_body(rich_text("<p>Dear {{ customer.first_name </p>"))
    with pytest.raises(ValidationError, match=r"Block 1 \(Rich text\): syntax error"):
        fragment.full_clean()


def test_problems_inside_conditions_lists_and_tables_are_located(customer_dictionary):
    raw_table = {"data": [["Name", "{{ customer.nickname }}"]], "first_row_is_table_header": False,
                 "first_col_is_header": True, "table_caption": ""}
    body = body_from_raw(
        ("conditional", {"condition": "balance >", "content": [], "otherwise": []}),
        ("repeating_list", {"source": "customer.first_name", "item_name": "item", "style": "table",
                            "columns": [{"heading": "A", "value": "x"}], "item_text": "", "empty_text": ""}),
        ("repeating_list", {"source": "invoices", "item_name": "inv", "style": "table",
                            "columns": [{"heading": "A", "value": "{{ inv.colour }}"}], "item_text": "",
                            "empty_text": ""}),
        ("table", raw_table),
    )
    problems = [str(p) for p in check_fragment_body(body, customer_dictionary.field_index())]
    assert problems[0].startswith("Block 1 (Conditional section) › condition: syntax error")
    assert problems[1] == "Block 2 (Repeating list) › source: 'customer.first_name' is a text field, not a list"
    assert problems[2] == ("Block 3 (Repeating list) › column 1: 'invoices.colour' is not a sub-field of the "
                           "list 'invoices'")
    assert problems[3] == "Block 4 (Table) › row 1, column 2: unknown merge field 'customer.nickname'"


def test_valid_fragment_renders_conditions_lists_and_escapes_data(customer_dictionary):
    body = fragment_body(
        rich_text("<p>Dear {{ customer.first_name }},</p>"),
        conditional("balance > 100", "<p>Please pay {{ balance|money }} by {{ due_date|date }}.</p>",
                    "<p>Thank you.</p>"),
        invoice_table(),
    )
    assert check_fragment_body(body, customer_dictionary.field_index()) == []
    data = dict(factories.SAMPLE_DATA)
    data["customer"] = dict(data["customer"], first_name="<b>Ada</b>")
    data = customer_dictionary.coerce_payload(data)
    html = render_fragment_body(body, data)
    assert "<p>Dear &lt;b&gt;Ada&lt;/b&gt;,</p>" in html
    assert "Please pay €250.00 by 15 December 2026." in html
    assert "<td>INV-2</td><td>€50.00</td>" in html
    low = render_fragment_body(body, customer_dictionary.coerce_payload(dict(data, balance="20", invoices=[])))
    assert "Thank you." in low and "Please pay" not in low
    assert "No open invoices" in low


def test_admin_form_pins_the_error_on_the_block(client, make_user, customer_dictionary):
    fragment = factories.fragment(customer_dictionary)
    client.force_login(make_user("root", superuser=True))
    url = reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[fragment.pk])
    form = client.get(url).context["form"]
    data = {key: value for key, value in form.initial.items() if value is not None and not isinstance(value, list)}
    data.update({
        "title": fragment.title, "key": fragment.key, "data_dictionary": customer_dictionary.pk,
        "language": "en", "channels": ["print"],
        "body-count": "1", "body-0-type": "rich_text", "body-0-deleted": "", "body-0-order": "0",
        "body-0-value": '{"blocks":[{"key":"a","type":"unstyled","depth":0,"text":"Dear {{ customer.frist_name }}",'
                        '"inlineStyleRanges":[],"entityRanges":[]}],"entityMap":{}}',
    })
    response = client.post(url, data)
    assert response.status_code == 200
    body_errors = response.context["form"].errors["body"].as_data()[0]
    assert "unknown merge field 'customer.frist_name'" in str(body_errors.block_errors[0])
    assert "1 merge field problem(s)" in str(body_errors.non_block_errors)
    fragment.refresh_from_db()
    assert fragment.latest_revision.as_object().body[0].value.source == fragment.body[0].value.source
    assert fragment.revisions.count() == 1  # nothing half-saved


def test_preview_renders_with_each_sample_data_set(client, make_user, customer_dictionary):
    SampleDataSet.objects.create(dictionary=customer_dictionary, name="Arrears",
                                 data=dict(factories.SAMPLE_DATA, balance="999.00"))
    fragment = factories.fragment(customer_dictionary, html="<p>Balance {{ balance|money }}</p>")
    modes = dict(fragment.preview_modes)
    assert set(modes.values()) == {"Typical customer", "Arrears"}
    request = client.get("/").wsgi_request
    request.user = make_user("root", superuser=True)
    for mode, expected in zip(modes, ["€250.00", "€999.00"], strict=True):
        response = fragment.serve_preview(request, mode)
        response.render()
        assert expected in response.content.decode()


def test_preview_shows_missing_data_instead_of_crashing(client, make_user, customer_dictionary):
    fragment = factories.fragment(customer_dictionary, html="<p>{{ due_date|date }}</p>")
    sample = customer_dictionary.sample_data_sets.get()
    sample.data = {k: v for k, v in sample.data.items() if k != "due_date"}
    sample.save()
    request = client.get("/").wsgi_request
    request.user = make_user("root", superuser=True)
    response = fragment.serve_preview(request, fragment.default_preview_mode)
    response.render()
    assert "cannot be rendered" in response.content.decode()
    assert "due_date" in response.content.decode()


def test_only_live_unexpired_revisions_are_used(customer_dictionary):
    fragment = factories.fragment(customer_dictionary, html="<p>Approved wording</p>")
    fragment.body = fragment_body(rich_text("<p>Unapproved draft</p>"))
    fragment.save_revision()
    assert "Approved wording" in render_fragment_body(fragment.live_object().body, {})
    fragment.expire_at = timezone.now() - datetime.timedelta(minutes=1)
    fragment.save(update_fields=["expire_at"])
    assert not fragment.is_usable and fragment.live_object() is None
    draft_only = factories.fragment(customer_dictionary, key="draft-only", publish=False)
    assert not draft_only.is_usable


def test_usage_lists_templates(customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary)
    unused = factories.fragment(customer_dictionary, key="unused")
    page = factories.letter_template(customer_dictionary, standard_layout, [greeting])
    assert [t.pk for t in fragment_usage(greeting).templates] == [page.pk]
    assert fragment_usage(unused).total == 0


def test_side_by_side_compare_renders_both_revisions_with_sample_data(client, make_user, customer_dictionary):
    from wagtail_correspondence import roles

    fragment = factories.fragment(customer_dictionary, html="<p>Old: pay {{ balance|money }}</p>")
    live_revision = fragment.live_revision
    fragment.body = fragment_body(rich_text("<p>New: please settle {{ balance|money }}</p>"))
    draft_revision = fragment.save_revision()
    url = reverse("wagtailsnippets_wagtail_correspondence_fragment:side_by_side", args=[fragment.pk])

    client.force_login(make_user("reviewer", roles.CONTENT_REVIEWERS))
    edit_page = client.get(reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[fragment.pk]))
    assert url in edit_page.content.decode()
    page = client.get(url).content.decode()
    left, right = page.split('data-compare-column="2"')
    assert "Old: pay €250.00" in left and f"Revision #{live_revision.pk}" in left
    assert "New: please settle €250.00" in right and f"Revision #{draft_revision.pk}" in right
    swapped = client.get(url, {"a": draft_revision.pk, "b": live_revision.pk}).content.decode()
    assert swapped.index("New: please settle") < swapped.index("Old: pay")
    assert "revisions/compare" in page or "/compare/" in page  # link to Wagtail's field diff

    client.force_login(make_user("nobody", is_staff=False))
    assert client.get(url).status_code in (302, 403)
