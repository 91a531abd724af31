"""The merge language: sandboxed, autoescaped, strict; data is never evaluated as template code."""

import pytest

from wagtail_correspondence.rendering import formatting
from wagtail_correspondence.rendering.sandbox import (
    MergeError,
    evaluate_expression,
    parse_expression,
    parse_template,
    referenced_fields,
    render_source,
    text_to_template,
    unescape_merge_tags,
)

INJECTIONS = ["{{ 7*7 }}", "{{ ''.__class__.__mro__ }}", "{% for x in range(3) %}x{% endfor %}",
              "<script>alert(1)</script>"]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_customer_data_is_inert_and_escaped(payload):
    output = render_source("<p>Dear {{ customer.first_name }}</p>", {"customer": {"first_name": payload}})
    assert "49" not in output
    assert "<script>" not in output
    assert "mro" not in output or "__mro__" in output  # shown literally, not evaluated
    assert output.startswith("<p>Dear ")


def test_sandbox_refuses_attribute_escapes():
    with pytest.raises(MergeError, match="private|sandbox|unsafe"):
        render_source("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})
    with pytest.raises(MergeError):
        render_source("{{ customer.__init__.__globals__ }}", {"customer": {}})


def test_sandbox_caps_runaway_expressions():
    with pytest.raises(MergeError, match="sandbox"):
        render_source("{{ 'x' * 100000000 }}", {})
    with pytest.raises(MergeError, match="sandbox"):
        render_source("{{ 10 ** 100000 }}", {})


def test_data_cannot_be_mutated():
    with pytest.raises(MergeError):
        render_source("{{ invoices.append(1) }}", {"invoices": []})


def test_missing_data_is_an_error_not_blank():
    with pytest.raises(MergeError, match="missing data"):
        render_source("Dear {{ customer.first_name }}", {"customer": {}})


@pytest.mark.parametrize("source", ["{% include 'x.html' %}", "{% extends 'base.html' %}",
                                    "{% import 'm' as m %}", "{% macro m() %}{% endmacro %}"])
def test_includes_and_macros_are_refused(source):
    with pytest.raises(MergeError, match="not allowed"):
        parse_template(source)


def test_syntax_errors_say_where():
    with pytest.raises(MergeError) as excinfo:
        parse_template("<p>Hello</p>\n<p>{{ customer.first_name </p>")
    assert "syntax error" in str(excinfo.value)
    assert "first_name" in str(excinfo.value)


def test_unknown_filter_is_a_syntax_problem():
    with pytest.raises(MergeError, match="No filter named 'shout'"):
        parse_template("{{ customer.name|shout }}")


def test_references_follow_loops_and_ignore_locals():
    tree = parse_template(
        "{% for inv in invoices %}{{ inv.number }} {{ inv.amount|money }} {{ loop.index }}{% endfor %}"
        "{% set greeting = 'Hi' %}{{ greeting }} {{ customer.name.upper() }} {{ customer['email'] }}")
    paths = {reference.path for reference in referenced_fields(tree)}
    assert paths == {"invoices", "invoices.number", "invoices.amount", "customer.name", "customer.email"}


def test_expression_references_and_trailing_garbage():
    assert {r.path for r in referenced_fields(parse_expression("balance > 100 and not customer.vip"))} == {
        "balance", "customer.vip"}
    with pytest.raises(MergeError):
        parse_expression("balance > 0 }}{% include 'x' %}")


def test_conditions_evaluate_over_data():
    assert evaluate_expression("balance > 100", {"balance": 150}) is True
    assert evaluate_expression("balance > 100", {"balance": 50}) is False
    with pytest.raises(MergeError, match="missing data"):
        evaluate_expression("balance > 100", {})


def test_rich_text_entities_inside_tags_are_restored():
    assert unescape_merge_tags("<p>{{ balance &gt; 0 }} &amp; {% if a &lt; b %}</p>") == \
        "<p>{{ balance > 0 }} &amp; {% if a < b %}</p>"


def test_plain_text_literals_are_escaped_but_tags_kept():
    source = text_to_template("Fish & chips <b> for {{ customer.name }}")
    assert render_source(source, {"customer": {"name": "<Ann>"}}) == "Fish &amp; chips &lt;b&gt; for &lt;Ann&gt;"


def test_text_environment_does_not_escape():
    assert render_source("Dear {{ name }}", {"name": "Tom & Jerry"}, autoescape=False) == "Dear Tom & Jerry"


def test_locale_aware_filters():
    data = {"amount": "1234.5", "when": "2026-03-01"}
    with formatting.use_locale("en_GB"):
        assert render_source("{{ amount|money }} {{ when|date }}", data) == "€1,234.50 1 March 2026"
    with formatting.use_locale("fr_BE"):
        output = render_source("{{ amount|money('EUR') }} {{ when|date }}", data)
        assert "1\u202f234,50\xa0€" in output or "1 234,50" in output.replace("\u202f", " ").replace("\xa0", " ")
        assert "1 mars 2026" in output
    with formatting.use_locale("nl_BE"):
        assert "maart" in render_source("{{ when|date('full') }}", data)


def test_address_filter_escapes_each_line():
    output = render_source("{{ a|address }}", {"a": {"line1": "<b>1 Main St</b>", "city": "Ghent",
                                                     "postal_code": "9000"}})
    assert output == "&lt;b&gt;1 Main St&lt;/b&gt;<br>9000 Ghent"
