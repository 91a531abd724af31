"""Compiled plans and frames: one render per fragment, the document and email around the body
rendered once per layout, the plain text in one pass. Each must give what the walker and the
templates give, byte for byte, and fall back to the walker whenever anything goes wrong."""

import copy
import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from django.test import override_settings
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file
from wagtail.rich_text import RichText

from wagtail_correspondence.rendering import formatting, plans
from wagtail_correspondence.rendering.assembly import LetterInput, assemble, live_sources
from wagtail_correspondence.rendering.budget import letter_budget
from wagtail_correspondence.rendering.document import framed_letter_document, render_letter_document
from wagtail_correspondence.rendering.fragments import render_fragment_body
from wagtail_correspondence.rendering.frames import inline_css
from wagtail_correspondence.rendering.images import inline_image_src
from wagtail_correspondence.rendering.plain_text import html_to_text
from wagtail_correspondence.rendering.sandbox import collect_missing, with_paths
from wagtail_correspondence.rendering.templates import LetterBodyRenderer

from . import factories

pytestmark = pytest.mark.django_db


def conditional(condition, content, otherwise=()):
    return ("conditional", {"condition": condition, "content": [factories.rich_text(html) for html in content],
                            "otherwise": [factories.rich_text(html) for html in otherwise]})


def merge_list(style, source="invoices", empty_text="", item_text=""):
    return ("repeating_list", {
        "source": source, "item_name": "item", "style": style, "empty_text": empty_text,
        "columns": [{"heading": 'Invoice <no.> "{{ x }}"', "value": "{{ item.number }}"},
                    {"heading": "Amount", "value": "{{ item.amount|money }}"}],
        "item_text": RichText(item_text or "<p>{{ item.number }}: {{ item.amount|money }}</p>")})


def every_block():
    office = Image.objects.create(title="Office", file=get_test_image_file(colour="blue"))
    image = ("image", {"image": office, "alt_text": 'The "office" <at> night', "width_mm": 40, "alignment": "center"})
    return factories.fragment_body(*text_blocks(image))


def text_blocks(*extra):
    return [
        factories.rich_text("<p>Dear {{ customer.title }} {{ customer.last_name }},</p>"
                            "<p>{% set owed = balance|money %}You owe {{ owed }} by {{ due_date|date }}.</p>"),
        # ``owed`` was set by the block before: each block is a render of its own.
        factories.rich_text("<p>{{ owed is defined }}</p><ul><li>{{ customer.email }}</li></ul>"),
        conditional("balance > 100", ["<p>Pay soon.</p>"], ["<p>Thanks.</p>"]),
        conditional("customer.vip", ["<p>VIP</p>"], ["<p>{{ customer.first_name }}, regular</p>"]),
        merge_list("table"), merge_list("bulleted"), merge_list("numbered"),
        merge_list("table", source="refunds", empty_text="No refunds <yet>."),
        merge_list("bulleted", source="refunds"),
        ("table", {"data": [["Item", "{{ customer.id }}"], ["Balance", "{{ balance|money }}"]],
                   "first_row_is_table_header": True, "first_col_is_header": True,
                   "table_caption": 'Your <account> "now"'}),
        *extra,
        ("page_break", {}),
        factories.rich_text("<p>Kind regards, {{ customer.address|address }}</p>"),
    ]


def letter_data(**changes):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["refunds"] = []
    data.update(changes)
    return data


def both(body, data, dictionary, image_src=inline_image_src):
    """(plan, walker) outputs of ``body`` with ``data``, each in a letter's budget and with
    missing fields collected, as the assembly renders them."""
    typed = with_paths(dictionary.coerce_payload(data))
    with formatting.use_locale("en_GB"), collect_missing(), letter_budget():
        planned = plans.render_planned(body, typed, image_src)
    with formatting.use_locale("en_GB"), collect_missing(), letter_budget():
        walked = render_fragment_body(body, typed, image_src, problems=[])  # markers where a block fails
    return planned, walked


def test_every_block_type_renders_byte_for_byte_as_the_walker(customer_dictionary):
    body = every_block()
    assert plans.body_plan(body, inline_image_src) is not None
    vip = {**factories.SAMPLE_DATA["customer"], "vip": True}
    for data in (letter_data(), letter_data(balance="50.00", customer=vip)):
        planned, walked = both(body, data, customer_dictionary)
        assert planned is not None and planned == walked
    assert "False" in planned  # {% set %} stayed in its block
    assert "No refunds &lt;yet&gt;." in planned and "<figure" in planned and '<div class="page-break">' in planned
    assert "<th>Invoice &lt;no.&gt; &quot;{{ x }}&quot;</th>" in str(planned)


def test_data_is_text_in_a_plan_whatever_it_holds(customer_dictionary):
    body = every_block()
    payload = "{{ 7*7 }}{% for x in range(3) %}loop{% endfor %}<script>alert(1)</script>"
    customer = {**factories.SAMPLE_DATA["customer"], "last_name": payload, "email": payload}
    invoices = [{"number": payload, "amount": "1.00", "due_date": "2026-11-01"}]
    planned, walked = both(body, letter_data(customer=customer, invoices=invoices), customer_dictionary)
    assert planned == walked
    assert "<script>" not in planned and "49" not in planned and "looploop" not in planned
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in planned


@pytest.mark.parametrize("data", [
    letter_data(invoices="not a list"),  # the walker reports a block that is not a list
    {key: value for key, value in letter_data().items() if key != "invoices"},  # missing list
    letter_data(balance="lots"),  # a comparison that fails
])
def test_a_plan_that_fails_gives_way_to_the_walker_with_nothing_counted_twice(customer_dictionary, data):
    body = every_block()
    typed = with_paths(customer_dictionary.coerce_payload(data))
    with formatting.use_locale("en_GB"), collect_missing() as missing, letter_budget() as budget:
        assert plans.render_planned(body, typed, inline_image_src) is None
        assert list(missing) == [] and budget.used == 0 and budget.output == 0  # the attempt was undone
    outputs = {}
    for use_plans in (True, False):
        problems = []
        with formatting.use_locale("en_GB"), collect_missing(), letter_budget():
            renderer = LetterBodyRenderer(typed, image_src=inline_image_src, problems=problems, use_plans=use_plans,
                                          fragment_body=lambda fragment, where: body)
            outputs[use_plans] = (renderer.fragment(_Fragment(), "Block 1"), problems)
    assert outputs[True] == outputs[False] and outputs[False][1]  # the walker's problems, with plans on


class _Fragment:
    pk = 1

    def __str__(self):
        return "Greeting"


def test_a_block_over_its_own_budget_is_refused_as_by_the_walker(customer_dictionary):
    body = factories.fragment_body(factories.rich_text("<p>{% for x in range(1500) %}{{ x }}{% endfor %}</p>"),
                                   factories.rich_text("<p>{% for x in range(1500) %}{{ x }}{% endfor %}</p>"))
    budget = {"WORK_PER_RENDER": 20_000, "WORK_PER_LETTER": 1_000_000, "OUTPUT_PER_LETTER": 1_000_000,
              "SECONDS_PER_LETTER": 10}
    with override_settings(WAGTAIL_CORRESPONDENCE={"RENDER_BUDGET": budget}):
        assert both(body, letter_data(), customer_dictionary)[0] is not None  # each block within its own budget
        heavy = factories.fragment_body(
            factories.rich_text("<p>{% for x in range(30000) %}{{ x }}{% endfor %}</p>"))
        typed = with_paths(letter_data())
        with formatting.use_locale("en_GB"), collect_missing(), letter_budget():
            assert plans.render_planned(heavy, typed, inline_image_src) is None
        problems = []
        with formatting.use_locale("en_GB"), collect_missing(), letter_budget():
            render_fragment_body(heavy, typed, inline_image_src, problems=problems)
        assert "more work than one block may do" in problems[0].message


def test_a_plan_is_compiled_once_per_revision_and_anew_for_a_new_revision(customer_dictionary, standard_layout):
    fragment = factories.fragment(customer_dictionary, key="greeting")
    page = factories.letter_template(customer_dictionary, standard_layout, [fragment])
    first = live_sources(page).fragments[fragment.pk].body
    again = live_sources(page).fragments[fragment.pk].body
    assert plans.body_plan(first, inline_image_src) is plans.body_plan(again, inline_image_src)
    fragment.body = factories.fragment_body(factories.rich_text("<p>Hello {{ customer.first_name }}.</p>"))
    fragment.save_revision().publish(skip_permission_checks=True)
    second = live_sources(page).fragments[fragment.pk].body
    assert plans.body_plan(second, inline_image_src) is not plans.body_plan(first, inline_image_src)
    letter = assemble(live_sources(page), LetterInput(data=letter_data()))
    assert "Hello Ada." in letter.body_html and "Dear Ada" not in letter.body_html


def test_the_framed_document_is_the_rendered_document(customer_dictionary, standard_layout):
    from wagtail_correspondence.rendering.assembly import revision_object

    layout = revision_object(standard_layout.live_revision_id)
    import datetime

    from markupsafe import Markup

    for reference, created, subject in (("OUT-2026-000001", datetime.datetime(2026, 12, 5, 9, 30), Markup("<b>Re</b>")),
                                        ("", None, "")):
        arguments = dict(
            layout=layout, body_html=Markup("<p>Body &amp; more</p>"), title='Bills & "you" <now>',
            # A value that looks like a frame's marker stays text: values go in after the split.
            recipient_lines=["Ada <Peeters>", "Rue & Co's 1 \ue000body\ue001", "1000 Brussels"], subject=subject,
            meta_lines=[("Reference", reference or "assigned later"), ("Date", "5 December 2026")],
            image_src=inline_image_src, author="Northwind & Co", reference=reference, created=created)
        assert str(framed_letter_document(**arguments)) == str(render_letter_document(**arguments))
        # From the frame the second time: same again.
        assert str(framed_letter_document(**arguments)) == str(render_letter_document(**arguments))


def test_the_email_has_its_styles_inline_as_the_inliner_gives_them(customer_dictionary, standard_layout):
    body = factories.fragment_body(
        factories.rich_text("<p>Dear {{ customer.first_name }},</p>"), merge_list("table"),
        ("table", {"data": [["Item", "{{ customer.id }}"], ["Balance", "{{ balance|money }}"]],
                   "first_row_is_table_header": False, "first_col_is_header": False, "table_caption": ""}),
        ("page_break", {}))
    fragment = factories.fragment(customer_dictionary, key="all", body=body)
    page = factories.letter_template(customer_dictionary, standard_layout, [fragment], email_intro="Hello <you>")
    letter = assemble(live_sources(page), LetterInput(data=letter_data(), reference="OUT-1"))
    assert letter.problems == []
    whole = inline_css(letter.email_html)
    assert "<style" not in letter.email_html
    # Every table cell carries the style the stylesheet gives it (what inlining the whole
    # email would write), and the frame's own parts are inlined too.
    td_style = inline_css('<html><head><style>th, td { border: 1px solid #cccccc; padding: 4px 8px; '
                          'text-align: left; vertical-align: top; }</style></head><body><table><tr><td>x</td>'
                          '</tr></table></body></html>').split('<td style="')[1].split('"')[0]
    assert letter.email_html.count(f'<td style="{td_style}">') == 4 + 2 + 2  # invoices ×2 columns, table cells
    assert 'class="page-break" style="display: none' in letter.email_html
    assert 'class="intro" style="' in letter.email_html and "Hello &lt;you&gt;" in letter.email_html
    assert whole.count("<td") == letter.email_html.count("<td")


def test_plain_text_keeps_structure_and_never_makes_tags_of_data():
    text = html_to_text(
        "<!DOCTYPE html><html><head><title>T</title><style>p { color: red }</style></head><body>"
        "<p>Dear   Ada,\n  hello</p><h2>Your <b>bill</b></h2>"
        "<ul><li><p>One</p><p>two</p></li><li>Three<ol><li>a</li><li>b &lt;p&gt;x&lt;/p&gt;</li></ol></li></ul>"
        "<p>See <a href=\"https://example.org/pay\">our site</a>, <a href=\"mailto:help@example.org\">"
        "help@example.org</a><br>or call.</p>"
        "<table><caption>Invoices</caption><tr><th>No.</th><th>Amount</th></tr>"
        "<tr><td>INV-1</td><td>€200.00</td></tr></table><p>End &amp; more.</p></body></html>")
    assert text == (
        "Dear Ada, hello\n\nYour bill\n\n- One\n  two\n- Three\n  1. a\n  2. b <p>x</p>\n\n"
        "See our site (https://example.org/pay), help@example.org\nor call.\n\n"
        "Invoices\nNo.    Amount\nINV-1  €200.00\n\nEnd & more.\n")


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
_AMOUNT = st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False).map(str)
_DATE = st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2040, 12, 31)).map(str)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=_TEXT, last=_TEXT, vip=st.booleans(), balance=st.one_of(_AMOUNT, _TEXT), due=st.one_of(_DATE, _TEXT),
       invoices=st.lists(st.fixed_dictionaries({"number": _TEXT, "amount": _AMOUNT, "due_date": _DATE}), max_size=4),
       drop=st.sampled_from([None, "invoices", "balance", "customer"]))
def test_plan_and_walker_agree_on_any_data(customer_dictionary, first, last, vip, balance, due, invoices, drop):
    """Whatever the data (odd text, wrong types, missing parts), the plan gives the walker's
    bytes or steps aside for it; never something else."""
    data = letter_data(balance=balance, due_date=due, invoices=invoices,
                       customer={**factories.SAMPLE_DATA["customer"], "first_name": first, "last_name": last,
                                 "vip": vip})
    if drop:
        data.pop(drop)
    body = _hypothesis_body()
    planned, walked = both(body, data, customer_dictionary)
    assert planned is None or planned == walked


_BODIES = {}


def _hypothesis_body():
    """One body for every example (an image needs the database of the test that made it)."""
    if "body" not in _BODIES:
        _BODIES["body"] = factories.fragment_body(*text_blocks())
    return _BODIES["body"]
