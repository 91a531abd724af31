"""Rendering work is bounded before it is done (issue 12, finding 3).

The caps used to be checked after the work: ``[s]*2000`` (s a 200,000-character string) built
892 MB before "output too large", ``[s]*199999`` would have needed 40 GB, ``list|sum(start=[])``
was quadratic, and a ``wordwrap`` in a loop kept a preview busy for 14 s. Values are now weighed
(characters across nested containers) before they are built, and work is counted in units
against a budget per render and per letter: the same content and data always end the same
way, and a preview over the budget answers what was exceeded. No assertion here is about time:
memory is measured (tracemalloc) where "before building" is the point."""

import copy
import json
import tracemalloc

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from wagtail_correspondence.rendering.assembly import LetterInput, assemble, live_sources
from wagtail_correspondence.rendering.budget import letter_budget
from wagtail_correspondence.rendering.fragments import render_fragment_body
from wagtail_correspondence.rendering.sandbox import MergeError, render_source

from . import factories

S = "x" * 200_000
BIG_DATA = {"s": S, "rows": [[i] for i in range(20_000)], "items": list(range(100_000)),
            "words": ("lorem ipsum " * 20_000)[:200_000]}


def render_measured(source, data=BIG_DATA):
    """(MergeError message or output, peak bytes allocated while rendering)."""
    tracemalloc.start()
    try:
        try:
            result = render_source(source, data)
        except MergeError as exc:
            result = str(exc)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("source, message", [
    ("{{ [s] * 2000 }}", "value too large"),  # 892 MB and 11 s before
    ("{{ [s] * 199999 }}", "value too large"),  # 40 GB before
    ("{{ ([s] * 4)|join }}", "result too large"),
    ("{{ [s, s, s, s, s, s] }}", "value too large"),
    ("{{ ([s] * 2) ~ 'x' }}", "value too large to use as text"),
    ("{{ [[s] * 4] * 4 }}", "value too large"),
    ("{{ '%s' % ([s] * 2,) }}", "value too large to use as text"),
    ("{{ ([s] * 2)|string }}", "value too large to use as text"),
    ("{{ ([s] * 2)|pprint }}", "value too large to use as text"),
    ("{{ ([s] * 2)|tojson }}", "value too large to use as text"),
    ("{{ ([s] * 2)|upper }}", "value too large to use as text"),
    ("{{ rows|sum(start=[]) }}", "sum adds numbers: its start must be a number"),  # quadratic before
    ("{{ s|center(199999) ~ s|center(199999) }}", "result too large"),
    ("{{ s.zfill(10 ** 9) }}", "width too large"),
    ("{{ (1).to_bytes(10 ** 9, 'big') }}", "'.to_bytes()' is not allowed"),
    ("{{ s.encode().ljust(10 ** 9) }}", "'.encode()' is not allowed"),
    ("{{ s.translate({120: s}) }}", "'.translate()' is not allowed"),  # 40 billion characters
    ("{{ [1]|tojson(indent=10 ** 9) }}", "tojson's indent may be at most"),
    ("{% for i in items %}{{ words|wordwrap }}{% endfor %}", "result too large"),
])
def test_values_are_weighed_before_they_are_built(source, message):
    result, peak = render_measured(source)
    assert f"refused by the sandbox: {message}" in result, result
    assert peak < 10_000_000, peak  # never built: a few MB at most, where gigabytes were asked for


@pytest.mark.parametrize("source", [
    "{% for i in items %}{{ words[:2000]|wordwrap }}{% endfor %}",  # a preview took 14 s of CPU before
    "{% for i in items %}{% for j in rows %}{% endfor %}{% endfor %}",
    "{% for i in items %}{{ s == words }}{% endfor %}",
    "{% for i in items %}{{ 'y' in s }}{% endfor %}",
    "{% for i in items %}{{ s[1:]|length }}{% endfor %}",
    "{% for i in items %}{{ rows|sort|length }}{% endfor %}",
    "{% for i in items %}" + "{{ s|length }}" * 50 + "{% endfor %}",
])
def test_work_over_a_blocks_budget_is_refused_saying_so(source):
    result, _peak = render_measured(source)
    assert result.startswith("refused by the sandbox: the content needs more work than one block may do (over "
                             "300,000 units"), result


def test_the_budget_counts_so_the_same_content_ends_the_same_way():
    source = "{% for i in items %}{{ words[:500]|wordwrap(20) }}{% endfor %}"
    outcomes = []
    for _ in range(2):
        with letter_budget() as budget:
            try:
                render_source(source, BIG_DATA)
            except MergeError as exc:
                outcomes.append((str(exc), budget.used))
    assert outcomes[0] == outcomes[1] and "needs more work" in outcomes[0][0]


def test_output_is_weighed_before_it_is_written():
    assert "too large to use as text" in render_measured("{{ [s, s] }}")[0]
    assert render_source("{{ [1, 'a', {'b': 2}] }}", {}) == "[1, &#39;a&#39;, {&#39;b&#39;: 2}]"


def test_a_letters_blocks_share_one_budget(settings, customer_dictionary, standard_layout):
    """Each block within its own budget, but together over the letter's: stopped at the
    letter's, the blocks after it not even started."""
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "RENDER_BUDGET": {
        "WORK_PER_RENDER": 3_000, "WORK_PER_LETTER": 5_000}}
    block = "<p>{% for i in invoices %}{{ (customer.first_name * 300)|wordwrap }}{% endfor %}</p>"  # ~2,000 units
    fragments = [factories.fragment(customer_dictionary, key=f"part-{n}", html=block) for n in range(5)]
    page = factories.letter_template(customer_dictionary, standard_layout, fragments)
    letter = assemble(live_sources(page), LetterInput(data=copy.deepcopy(factories.SAMPLE_DATA)))
    assert not letter.can_generate
    messages = [problem.message for problem in letter.problems]
    assert any("the letter needs more work than one letter may do (over 5,000 units" in m for m in messages), messages
    assert not any("one block may do" in message for message in messages)


def test_the_wall_clock_is_a_safety_net(settings):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "RENDER_BUDGET": {
        "SECONDS_PER_LETTER": 0}}
    with pytest.raises(MergeError, match="the content took more than 0 seconds to render"):
        render_source("{% for i in items %}{% endfor %}", BIG_DATA)


def test_ordinary_content_uses_a_small_part_of_the_budget(customer_dictionary, standard_layout):
    body = factories.fragment_body(
        factories.rich_text("<p>Dear {{ customer.title }} {{ customer.last_name }},</p><p>You owe "
                            "{{ balance|money }} by {{ due_date|date }}.</p>{% if customer.vip %}<p>VIP</p>{% endif %}"),
        ("repeating_list", {"source": "invoices", "item_name": "item", "style": "table", "columns": [
            {"heading": "Invoice", "value": "{{ item.number }}"}, {"heading": "Due", "value": "{{ item.due_date|date }}"},
            {"heading": "Amount", "value": "{{ item.amount|money }}"}], "item_text": "", "empty_text": ""}))
    fragment = factories.fragment(customer_dictionary, body=body)
    with letter_budget() as budget:
        render_fragment_body(fragment.live_object().body, copy.deepcopy(factories.SAMPLE_DATA))
    assert budget.used * 200 < 500_000, budget.used


# Previews over the budget answer what was exceeded, never a 500 -----------------------------

HEAVY = "<p>{% for i in invoices %}{{ (customer.first_name * 60000)|wordwrap }}{% endfor %}</p>"
SMALL_BUDGET = {"WORK_PER_RENDER": 50_000, "WORK_PER_LETTER": 80_000}


@pytest.fixture
def heavy_fragment(settings, customer_dictionary):
    """Content that passes the checks on save (it only reads known fields) and needs more work
    than a block may do with the sample data."""
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "RENDER_BUDGET": SMALL_BUDGET}
    return factories.fragment(customer_dictionary, key="heavy", html=HEAVY)


def test_the_fragment_preview_says_what_was_exceeded(client, make_user, heavy_fragment):
    request = client.get("/").wsgi_request
    request.user = make_user("root", superuser=True)
    response = heavy_fragment.serve_preview(request, heavy_fragment.default_preview_mode)
    response.render()
    assert response.status_code == 200
    assert "needs more work than one block may do (over 50,000 units" in response.content.decode()


@pytest.mark.usefixtures("one_customer")
def test_the_builder_and_api_previews_say_what_was_exceeded(client, agent, heavy_fragment, customer_dictionary,
                                                            standard_layout):
    template = factories.letter_template(customer_dictionary, standard_layout, [heavy_fragment])
    client.force_login(agent)
    response = client.post(reverse("wagtail_correspondence_letters:preview", args=[template.pk]),
                           {"customer_id": "C-1001", "channel": "print"})
    assert response.status_code == 200
    preview = response.json()
    assert preview["can_generate"] is False
    assert any("needs more work than one block may do" in problem["message"] for problem in preview["missing"])

    token = Token.objects.create(user=agent)
    response = client.post("/api/correspondence/v1/letters/preview/", data=json.dumps(
        {"template": template.pk, "customer_id": "C-1001"}), content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200, response.content
    assert any("needs more work than one block may do" in problem["message"]
               for problem in response.json()["missing"])
