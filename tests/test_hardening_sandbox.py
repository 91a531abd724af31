"""Template injection and sandbox escapes: the classic payloads are refused when content is
saved (a validation error naming the block, never a 500), refused again by the sandbox at
render time for content that escaped the checks on save, and runaway expressions (huge
ranges, repeats, paddings, loops, nesting) are stopped before they take the memory or the CPU.
Agent text and customer data are data: never evaluated."""

import copy
import html
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from jinja2.exceptions import SecurityError

from wagtail_correspondence.models import Fragment, RoutingRule
from wagtail_correspondence.rendering.assembly import LetterInput, assemble, live_sources
from wagtail_correspondence.rendering.sandbox import (
    MAX_STRING_LENGTH,
    MergeError,
    get_environment,
    parse_expression,
    parse_template,
    render_source,
)

from . import factories

# (payload, what the refusal says)
ESCAPES = [
    ("{{ ''.__class__.__mro__ }}", "names starting with '_' are private"),
    ("{{ cycler.__init__.__globals__ }}", "names starting with '_' are private"),
    ("{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}", "names starting with '_' are private"),
    ("{{ customer.first_name.__class__ }}", "names starting with '_' are private"),
    ("{{ customer['__class__'] }}", "names starting with '_' are private"),
    ("{{ customer._secret }}", "names starting with '_' are private"),
    ("{{ customer|attr('__class__') }}", "names starting with '_' are private"),
    ("{{ [customer]|map(attribute='__class__')|list }}", "names starting with '_' are private"),
    ("{{ '{0.__class__}'.format(customer) }}", "'.format()' is not allowed"),
    ("{{ '{0:>999999999}'.format(customer.first_name) }}", "'.format()' is not allowed"),
    ("{{ self }}", "'self' is not available"),
    ("{{ config }}", "unknown merge field 'config'"),
    ("{{ request }}", "unknown merge field 'request'"),
    ("{{ settings.SECRET_KEY }}", "unknown merge field 'settings.SECRET_KEY'"),
    ("{{ lipsum(10) }}", "unknown merge field 'lipsum'"),
    ("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "recursive loops are not allowed"),
]
RUNAWAYS = [
    ("{{ range(10 ** 9)|length }}", "Range too big"),
    ("{% for i in range(10 ** 9) %}x{% endfor %}", "Range too big"),
    ("{{ 'x' * 10 ** 10 }}", "refused by the sandbox: result too large"),
    ("{{ ['x'] * 10 ** 10 }}", "refused by the sandbox: result too large"),
    ("{{ 9 ** 9999999 }}", "refused by the sandbox: exponent too large"),
    ("{{ 'x'|center(10 ** 10) }}", "refused by the sandbox: width too large"),
    ("{{ 'x'.ljust(10 ** 10) }}", "refused by the sandbox: width too large"),
    ("{{ '%0999999999d' % 1 }}", "refused by the sandbox: format width too large"),
    ("{{ [1]|batch(10 ** 10, 'x')|list }}", "refused by the sandbox: batch size too large"),
    ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "nested too deeply"),
    ("{% if 1 %}" * 150 + "{% endif %}" * 150, "nested too deeply"),
]


def save_fragment(dictionary, html, key="payload"):
    return factories.fragment(dictionary, key=key, html=f"<p>{html}</p>", publish=False)


@pytest.mark.parametrize("payload, message", ESCAPES + RUNAWAYS)
def test_payloads_are_validation_errors_on_save_naming_the_block(customer_dictionary, payload, message):
    with pytest.raises(ValidationError) as excinfo:
        save_fragment(customer_dictionary, payload)
    [problem] = excinfo.value.message_dict["body"]
    assert problem.startswith("Block 1 (Rich text): ") and message in problem
    assert not Fragment.objects.filter(key="payload").exists()


@pytest.mark.parametrize("payload", ["{{ ''.__class__.__mro__ }}", "{{ 'x' * 10 ** 10 }}",
                                     "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}"])
def test_the_admin_editor_shows_them_on_the_block(client, make_user, customer_dictionary, payload):
    fragment = factories.fragment(customer_dictionary)
    client.force_login(make_user("root", superuser=True))
    url = reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[fragment.pk])
    form = client.get(url).context["form"]
    data = {key: value for key, value in form.initial.items() if value is not None and not isinstance(value, list)}
    draftail = {"blocks": [{"key": "a", "type": "unstyled", "depth": 0, "text": payload, "inlineStyleRanges": [],
                            "entityRanges": []}], "entityMap": {}}
    data.update({"title": fragment.title, "key": fragment.key, "data_dictionary": customer_dictionary.pk,
                 "language": "en", "channels": ["print"], "body-count": "1", "body-0-type": "rich_text",
                 "body-0-deleted": "", "body-0-order": "0", "body-0-value": json.dumps(draftail)})
    response = client.post(url, data)
    assert response.status_code == 200  # the form again, with the problem; not a 500
    assert "body" in response.context["form"].errors
    assert fragment.revisions.count() == 1  # nothing saved


def test_routing_conditions_are_checked_the_same_way(db):
    for condition, message in (("customer.__class__", "private"), ("range(10 ** 9)|length > 0", "Range too big"),
                               ("'x' * 10 ** 10 == ''", "result too large")):
        rule = RoutingRule(name="Sneaky", customer_condition=condition)
        with pytest.raises(ValidationError) as excinfo:
            rule.full_clean()
        assert message in " ".join(excinfo.value.message_dict["customer_condition"]), condition
    with pytest.raises(MergeError, match="private"):
        parse_expression("balance > 0 and customer.__dict__")


@pytest.mark.parametrize("source", ["{{ x.__class__ }}", "{{ x|attr('__class__') }}", "{{ x.items.__self__ }}",
                                    "{{ ''.__class__.__mro__ }}", "{{ '{0.__class__}'.format(x) }}",
                                    "{{ x.update({'a': 1}) }}"])
def test_the_sandbox_itself_refuses_them_at_render_time(source):
    """Content saved before these checks existed is compiled by the sandboxed environment
    without them: the sandbox refuses the same accesses on its own."""
    with pytest.raises(SecurityError):
        get_environment().from_string(source).render(x={"a": 1})
    with pytest.raises(MergeError, match="private|not allowed|sandbox"):
        render_source(source, {"x": {"a": 1}})


@pytest.mark.parametrize("source, message", [
    # Not literals: the checks on save cannot compute these; rendering stops them.
    ("{{ customer.first_name * 10 ** 10 }}", "result too large"),
    ("{{ customer.first_name|center(10 ** 10 + balance|int) }}", "width too large"),
    ("{{ customer.first_name.zfill(10 ** 10 + balance|int) }}", "width too large"),
    ("{{ (customer.first_name * 100000) ~ (customer.first_name * 100000) }}", "result too large"),
    ("{% set a = customer.first_name * 60000 %}{% set a = a ~ a %}{% set a = a ~ a %}", "result too large"),
    ("{{ ('-' * 100000).join(customer.first_name * 60000) }}", "result too large"),
    ("{{ (customer.first_name * 60000)|replace('a', customer.first_name * 1000) }}", "result too large"),
    # range() is no merge field (refused on save), but subjects and SMS texts render the same way.
    # Just past the limits (a block's work budget, a letter's text), so that without them the
    # render ends quickly too, and the test fails rather than hangs.
    ("{% for a in range(1001) %}{% for b in range(1000) %}{% endfor %}{% endfor %}",
     "needs more work than one block may do"),
    ("{% set a = customer.first_name * 60000 %}{% for i in range(30) %}{{ a }}{% endfor %}", "output too large"),
])
def test_runaway_expressions_over_data_are_stopped_while_rendering(source, message):
    with pytest.raises(MergeError, match=f"refused by the sandbox: .*{message}"):
        render_source(f"<p>{source}</p>", copy.deepcopy(factories.SAMPLE_DATA))


def test_a_runaway_fragment_is_a_problem_of_the_letter_not_a_crash(customer_dictionary, standard_layout):
    fragment = factories.fragment(customer_dictionary, key="runaway",  # passes the checks on save
                                  html="<p>{{ customer.first_name * 10 ** 10 }}</p>")
    page = factories.letter_template(customer_dictionary, standard_layout, [fragment])
    letter = assemble(live_sources(page), LetterInput(data=copy.deepcopy(factories.SAMPLE_DATA)))
    assert not letter.can_generate
    assert [problem.kind for problem in letter.problems] == ["content"]
    assert "refused by the sandbox" in letter.problems[0].message


def test_ordinary_content_is_unaffected_by_the_limits():
    data = {"invoices": [{"n": 1}, {"n": 2}], "name": "Ada", "total": "12.50"}
    source = ("{% for i in invoices %}{{ loop.index }}:{{ i.n }}{% if not loop.last %}, {% endif %}{% endfor %} "
              "{{ name ~ '!' }} {{ '%s owes %s' % (name, total) }} {{ name|center(9) }} {{ 2 ** 64 }} "
              "{{ range(3)|join('-') }} {{ 'ab' * 3 }} {{ (name * 1000)|length }}")
    assert render_source(source, data) == "1:1, 2:2 Ada! Ada owes 12.50    Ada    18446744073709551616 0-1-2 ababab 3000"
    assert len(render_source("{{ name * %d }}" % (MAX_STRING_LENGTH // 3), data)) == MAX_STRING_LENGTH // 3 * 3
    parse_template(source)


AGENT_TEXT = "{{ 7*7 }} {% for x in range(3) %}loop{% endfor %} {{ ''.__class__.__mro__ }} {{ config }}"


@pytest.mark.usefixtures("one_customer")
def test_agent_text_is_output_literally_never_evaluated(client, agent, customer_dictionary, standard_layout):
    body = factories.template_body(
        ("fragment", factories.fragment(customer_dictionary)),
        ("agent_slot", {"name": "note", "label": "Note", "help": "", "required": True, "max_length": 500,
                        "default_text": ""}))
    template = factories.letter_template(customer_dictionary, standard_layout, [], body=body)
    client.force_login(agent)
    preview = client.post(reverse("wagtail_correspondence_letters:preview", args=[template.pk]), {
        "customer_id": "C-1001", "channel": "print", "slot:note": AGENT_TEXT}).json()
    assert preview["can_generate"] is True
    assert AGENT_TEXT in html.unescape(preview["html"])  # as typed, escaped for HTML
    assert "49" not in preview["html"] and "looploop" not in preview["html"] and "class 'str'" not in preview["html"]


@pytest.mark.parametrize("source", ["{{ customer.first_name|dictsort }}", "{{ balance|int|wordwrap }}",
                                    "{{ customer.first_name|truncate(1) }}",
                                    "{{ (customer.vip|int)|indent }}"])
def test_a_filter_given_a_value_it_cannot_take_is_a_merge_error(source):
    """Not an exception from deep inside Jinja: a preview shows the problem, generation names it."""
    with pytest.raises(MergeError, match="cannot evaluate"):
        render_source(source, {**copy.deepcopy(factories.SAMPLE_DATA), "balance": "250"})
