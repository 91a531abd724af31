"""The letter assembly: one input, every output (print, email, SMS), and an exact list of
what stops generation. Template-injection payloads stay inert wherever they come from."""

import copy
import html

import pytest
from django.core.exceptions import ValidationError
from markupsafe import escape
from wagtail.rich_text import RichText

from wagtail_correspondence.rendering import sms
from wagtail_correspondence.rendering.assembly import LetterInput, assemble, live_sources

from . import factories

INJECTIONS = ["{{ 7*7 }}", "{{ ''.__class__.__mro__ }}", "{% for x in range(3) %}loop{% endfor %}",
              "<script>alert(1)</script>"]


@pytest.fixture
def letter_template(customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary, key="greeting")
    balance = factories.fragment(customer_dictionary, key="balance", body=factories.fragment_body(
        factories.rich_text("<p>You owe {{ balance|money }} by {{ due_date|date }}.</p>"),
        ("conditional", {"condition": "balance > 100", "content": [factories.rich_text("<p>Pay soon.</p>")],
                         "otherwise": [factories.rich_text("<p>Thanks.</p>")]}),
        ("repeating_list", {"source": "invoices", "item_name": "item", "style": "table", "empty_text": "",
                            "columns": [{"heading": "Invoice", "value": "{{ item.number }}"},
                                        {"heading": "Amount", "value": "{{ item.amount|money }}"}],
                            "item_text": RichText("")})))
    extra = factories.fragment(customer_dictionary, key="extra", html="<p>Extra wording.</p>")
    body = factories.template_body(
        ("fragment", greeting), ("fragment", balance),
        ("agent_slot", {"name": "note", "label": "Note", "help": "", "required": True, "max_length": 200,
                        "default_text": ""}),
        ("optional_fragments", {"name": "extras", "label": "Extras", "help": "", "fragments": [extra],
                                "preselected": False}))
    return factories.letter_template(customer_dictionary, standard_layout, [], body=body,
                                     sms_text="Hi {{ customer.first_name }}, {{ balance|money }} is due.",
                                     email_intro="Dear {{ customer.first_name }}, see below.")


def build(page, data=None, **kwargs):
    kwargs.setdefault("slots", {"note": "Call me."})
    return assemble(live_sources(page), LetterInput(data=copy.deepcopy(data or factories.SAMPLE_DATA), **kwargs))


def test_complete_input_renders_every_channel(letter_template):
    letter = build(letter_template, channel="email")
    assert letter.problems == [] and letter.can_generate
    assert "Dear Ada," in letter.html and "€250.00" in letter.html and "Pay soon." in letter.html
    assert "INV-2" in letter.html and "Call me." in letter.html
    assert "Rue de la Loi 16" in letter.html  # recipient block in the envelope window
    assert letter.subject == "Your account C-1001"
    # Email: CSS inlined (no <style> block), plain-text alternative with the same content.
    assert "<style" not in letter.email_html and 'style="' in letter.email_html
    assert "Dear Ada, see below." in letter.email_text and "€250.00" in letter.email_text
    assert "<p>" not in letter.email_text
    # SMS: merged, measured.
    assert letter.sms.text == "Hi Ada, €250.00 is due."
    assert letter.sms.encoding == sms.GSM7 and letter.sms.segments == 1


def test_every_missing_thing_is_listed_by_field(letter_template):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    del data["customer"]["first_name"]  # required by the dictionary and used by the greeting
    del data["due_date"]  # optional in the dictionary, but the letter uses it
    data["customer"]["email"] = "not-an-email"
    letter = build(letter_template, data, slots={"note": "", "nope": "x"}, optional_fragments=["ghost"],
                   channel="fax")
    fields = {problem.field: problem for problem in letter.problems}
    assert set(fields) == {"customer.first_name", "due_date", "customer.email", "slots.note", "slots.nope",
                           "optional_fragments", "channel"}
    assert fields["customer.first_name"].kind == "data" and "required" in fields["customer.first_name"].message
    assert fields["due_date"].kind == "missing"
    assert fields["due_date"].message == "Due date is missing: the letter uses it."
    assert fields["slots.note"].kind == "slot" and not letter.can_generate
    # The preview still renders, showing where the data is missing.
    assert '<mark class="missing-field" title="Missing data">due_date</mark>' in letter.html


def test_optional_fields_guarded_in_content_are_not_missing(customer_dictionary, standard_layout):
    guarded = factories.fragment(customer_dictionary, key="guarded", html=(
        "<p>{% if customer.title is defined %}{{ customer.title }}{% endif %} "
        "{{ customer.vip|default(false)|yesno('VIP,regular') }}</p>"))
    page = factories.letter_template(customer_dictionary, standard_layout, [guarded])
    data = copy.deepcopy(factories.SAMPLE_DATA)
    del data["customer"]["title"], data["customer"]["vip"]
    letter = build(page, data, slots={})
    assert letter.problems == []
    assert "regular" in letter.html


def test_missing_nested_list_field_is_named_with_its_position(letter_template):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    del data["invoices"][1]["amount"]
    letter = build(letter_template, data)
    assert [problem.field for problem in letter.problems] == ["invoices[1].amount"]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_in_data_and_slots_is_inert(letter_template, payload):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"]["first_name"] = payload
    letter = build(letter_template, data, slots={"note": payload})
    assert letter.problems == []
    assert str(escape(payload)) in letter.html  # shown literally, escaped
    assert payload in html.unescape(letter.email_html)  # the inliner re-serialises entities
    for output in (letter.html, letter.email_html):
        assert "49" not in output and "<script>" not in output and "looploop" not in output
        assert "object" not in output  # ''.__class__.__mro__ would print (<class 'str'>, <class 'object'>)
    assert letter.sms.text == f"Hi {payload}, €250.00 is due."  # plain text: literal, never evaluated


def test_injection_in_fragment_content_is_refused_or_sandboxed(customer_dictionary, standard_layout):
    # Saving checks merge fields: private attributes and runaways made of literals are refused
    # there; a runaway that depends on the data can only be refused when the letter is built.
    with pytest.raises(ValidationError, match="names starting with '_' are private"):
        factories.fragment(customer_dictionary, key="escape", html="<p>{{ customer.__class__.__mro__ }}</p>")
    with pytest.raises(ValidationError, match=r"Block 1 .*refused by the sandbox"):
        factories.fragment(customer_dictionary, key="literal", html="<p>{{ 'x' * 100000000 }}</p>")
    runaway = factories.fragment(customer_dictionary, key="runaway",
                                 html="<p>{{ customer.first_name * 100000000 }}</p>")
    page = factories.letter_template(customer_dictionary, standard_layout, [runaway])
    letter = build(page, slots={})
    assert [problem.kind for problem in letter.problems] == ["content"]
    assert "sandbox" in letter.problems[0].message and "xxxxxxxx" not in letter.html


def test_same_input_gives_byte_identical_html(letter_template):
    first = build(letter_template, reference="OUT-2026-000001")
    second = build(letter_template, reference="OUT-2026-000001")
    assert first.html == second.html and first.email_html == second.email_html


def test_unticked_optional_group_and_preselection(letter_template):
    assert "Extra wording." not in build(letter_template).html  # not preselected
    assert "Extra wording." in build(letter_template, optional_fragments=["extras"]).html
    assert "Extra wording." not in build(letter_template, optional_fragments=[]).html


def test_locale_follows_the_template_language(customer_dictionary, standard_layout):
    fragment = factories.fragment(customer_dictionary, key="fr", html="<p>{{ balance|money }} le {{ due_date|date }}</p>")
    page = factories.letter_template(customer_dictionary, standard_layout, [fragment], language="fr")
    html = build(page, slots={}).html
    assert "15 décembre 2026" in html
    assert "250,00" in html


def test_sms_over_the_segment_limit_is_refused_for_the_sms_channel(customer_dictionary, standard_layout, settings):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "SMS_MAX_SEGMENTS": 1}
    fragment = factories.fragment(customer_dictionary, key="f")
    page = factories.letter_template(customer_dictionary, standard_layout, [fragment], channels=["print", "sms"],
                                     sms_text="{{ customer.full_name }} " + "x" * 170)
    letter = build(page, slots={}, channel="sms")
    assert [problem.field for problem in letter.problems] == ["channel"]
    assert "2 segments" in letter.problems[0].message
    assert build(page, slots={}, channel="print").problems == []


@pytest.mark.parametrize("text, encoding, units, segments", [
    ("", sms.GSM7, 0, 0),
    ("a" * 160, sms.GSM7, 160, 1),
    ("a" * 161, sms.GSM7, 161, 2),
    ("€" * 80, sms.GSM7, 160, 1),  # extension characters cost two septets
    ("a" * 152 + "€" + "a" * 152, sms.GSM7, 306, 3),  # an escape pair never straddles two segments
    ("a" * 305 + "€", sms.GSM7, 307, 3),
    ("ć" * 70, sms.UCS2, 70, 1),
    ("ć" * 71, sms.UCS2, 71, 2),
    ("😀" * 35, sms.UCS2, 70, 1),  # outside the BMP: two UTF-16 units each
])
def test_sms_segments(text, encoding, units, segments):
    measured = sms.measure_sms(text)
    assert (measured.encoding, measured.units, measured.segments) == (encoding, units, segments)


def test_an_sms_with_a_locale_formatted_amount_stays_in_gsm7():
    """French and Dutch amounts carry no-break spaces ("929,75\u00a0€"); sent as plain spaces,
    the message keeps GSM-7's 160 characters a segment instead of UCS-2's 70."""
    text = sms.normalise_sms("Northwind : un solde de 929,75\u00a0€ est à payer le 16/12/2026.\u202fRéf. C-1004")
    assert text == "Northwind : un solde de 929,75 € est à payer le 16/12/2026. Réf. C-1004"
    assert sms.measure_sms(text).encoding == sms.GSM7
