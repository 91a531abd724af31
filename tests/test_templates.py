"""Letter templates: what may be referenced, checks of subject and channel texts, preview."""

import pytest
from django.core.exceptions import ValidationError

from wagtail_correspondence.rendering.assembly import render_template_preview
from wagtail_correspondence.rendering.templates import render_body

from . import factories


def slot(name="personal_note", **overrides):
    value = {"name": name, "label": "Personal note", "help": "", "required": False, "max_length": 500,
             "default_text": ""}
    value.update(overrides)
    return ("agent_slot", value)


def build(customer_dictionary, standard_layout, *blocks, **fields):
    return factories.letter_template(customer_dictionary, standard_layout, [],
                                     body=factories.template_body(*blocks), **fields)


def invalid_change(customer_dictionary, *blocks, **fields):
    """A valid live template, then an edit; Page.save() runs full_clean, so this is what an editor hits."""
    layout = fields.pop("layout", None) or factories.layout(name="Valid letterhead")
    page = build(customer_dictionary, layout, ("fragment", factories.fragment(customer_dictionary, key="ok")))
    if blocks:
        page.body = factories.template_body(*blocks)
    for name, value in fields.items():
        setattr(page, name, value)
    with pytest.raises(ValidationError) as excinfo:
        page.full_clean()
    with pytest.raises(ValidationError):
        page.save_revision()  # the same check guards every save
    return excinfo.value.message_dict


def test_template_may_only_reference_live_fragments(customer_dictionary, standard_layout):
    draft = factories.fragment(customer_dictionary, key="draft", publish=False)
    errors = invalid_change(customer_dictionary, ("fragment", draft))
    assert errors["body"] == ["Block 1 (Locked fragment): the fragment 'Draft' is not approved and live"]


def test_fragment_from_another_dictionary_is_refused(customer_dictionary, standard_layout):
    other = factories.dictionary(name="Supplier", fields=[("supplier.name", "Name", "text", True)], sample=None)
    foreign = factories.fragment(other, key="supplier-greeting", html="<p>Dear {{ supplier.name }}</p>")
    errors = invalid_change(customer_dictionary, ("fragment", foreign))
    assert "uses the data dictionary 'Supplier', not 'Customer'" in errors["body"][0]


def test_subject_and_channel_texts_are_checked(customer_dictionary, standard_layout):
    errors = invalid_change(customer_dictionary, subject="Account {{ customer.number }}",
                            sms_text="Pay {{ balance|money }")
    assert errors["subject"] == ["Subject: unknown merge field 'customer.number'"]
    assert errors["sms_text"][0].startswith("Sms text: syntax error")


def test_slot_names_must_be_unique(customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary)
    errors = invalid_change(customer_dictionary, ("fragment", greeting), slot(), slot())
    assert errors["body"] == ["Block 3 (Agent slot): the name 'personal_note' is already used by Block 2 (Agent slot)"]


def test_unapproved_layout_is_refused(customer_dictionary):
    draft_layout = factories.layout(name="Draft letterhead", publish=False)
    errors = invalid_change(customer_dictionary, layout_id=draft_layout.pk)
    assert errors["layout"] == ["Layout: the layout 'Draft letterhead' is not approved and live"]


def test_body_uses_live_revisions_slots_as_data_options_and_conditions(customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary)
    arrears = factories.fragment(customer_dictionary, key="arrears", html="<p>Arrears of {{ balance|money }}</p>")
    extra = factories.fragment(customer_dictionary, key="extra", html="<p>Optional paragraph</p>")
    page = build(
        customer_dictionary, standard_layout,
        ("fragment", greeting),
        slot(default_text="Default note"),
        ("optional_fragments", {"name": "extras", "label": "Extras", "help": "", "fragments": [extra],
                                "preselected": False}),
        ("conditional_include", {"condition": "balance > 100", "fragment": arrears}),
    )
    assert page.check_content() == []
    greeting.body = factories.fragment_body(factories.rich_text("<p>Unapproved greeting</p>"))
    greeting.save_revision()
    data = customer_dictionary.coerce_payload(factories.SAMPLE_DATA)
    html = render_body(page, data, slot_values={"personal_note": "{{ 7*7 }} <script>x</script>\nLine 2"})
    assert "Dear Ada," in html and "Unapproved greeting" not in html
    assert "{{ 7*7 }} &lt;script&gt;x&lt;/script&gt;<br>Line 2" in html
    assert "Optional paragraph" not in html
    assert "Arrears of €250.00" in html
    html = render_body(page, dict(data, balance=50), optional_choices={"extras"})
    assert "Optional paragraph" in html and "Arrears" not in html
    assert "Default note" in html


def test_preview_document_has_layout_recipient_and_subject(customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary)
    page = build(customer_dictionary, standard_layout, ("fragment", greeting),
                 subject="Your account {{ customer.id }} & more")
    html = str(render_template_preview(page, factories.SAMPLE_DATA))
    assert "Ada Peeters<br>Rue de la Loi 16<br>1000 BRUSSELS" in html
    assert "Your account C-1001 &amp; more" in html
    assert "size: 210mm 297mm" in html
    assert 'content: "Page " counter(page) " of " counter(pages)' in html
    assert "Northwind Mutual · PO Box 1" in html


def test_template_pages_are_never_served_publicly(client, customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary)
    page = build(customer_dictionary, standard_layout, ("fragment", greeting))
    assert page.live
    assert client.get("/letter-templates/payment-reminder/").status_code == 404
    assert page.get_url() is None  # outside every site
