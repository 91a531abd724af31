"""Bounded property tests (hypothesis) of the merge-field parser, the check on save and the
renderer: whatever the text, the only error is the documented MergeError (a Problem with its
location on save), never an exception from Jinja or Python; and a valid merge field always
round-trips: parsed, reported as the field it reads, rendered as the escaped value."""

import keyword

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from wagtail_correspondence.rendering.fragments import BodyChecker
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
from wagtail_correspondence.schema import FieldIndex, FieldSpec

from . import factories

# Bounded: 200 examples a property, no per-example deadline (a slow machine is no failure),
# no example database written into the work tree, and the same examples on every run so that
# the suite never fails at random on an unrelated change (run with HYPOTHESIS_SEED or
# derandomize=False locally to look further).
FUZZ = settings(max_examples=200, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# Pieces content is made of, and pieces of attacks on it, for the generator to combine.
TOKENS = [
    "{{", "}}", "{%", "%}", "{#", "#}", " ", "\n", "'", '"', "(", ")", "[", "]", ",", ".", "|", "~", "*", "**",
    "+", "-", "/", "//", "%", "==", "<", ">", "=", ":", "!",
    "customer", "first_name", "balance", "invoices", "item", "loop", "index", "x", "0", "1", "10", "9999999",
    "'text'", "''", "for", "in", "endfor", "if", "else", "elif", "endif", "set", "not", "and", "or", "is", "defined",
    "money", "date", "address", "upper", "length", "join", "center", "replace", "format", "attr", "default",
    "dictsort", "xmlattr", "indent", "truncate", "wordwrap", "random", "first", "int", "sum", "batch", "list",
    "range", "self", "cycler", "namespace", "__class__", "__mro__", "__subclasses__", "__globals__", "_private",
    "include", "extends", "import", "macro", "raw", "endraw", "recursive", "&gt;", "&lt;", "&amp;", "\xa0",
]
merge_text = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)), max_size=40).map("".join)
# Content nested deeper than Python's parser or compiler goes.
deep_text = st.builds(lambda opening, depth, inner: "{{ " + opening * depth + inner,
                      st.sampled_from(["(", "[", "-", "not ", "x|", "{% if 1 %}", "{% for a in b %}"]),
                      st.integers(1, 3000), merge_text)
any_text = st.one_of(merge_text, deep_text, st.text(max_size=200))

FIELDS = FieldIndex.from_specs([FieldSpec(name, label, kind, required)
                                for name, label, kind, required in factories.CUSTOMER_FIELDS])
DATA = {**factories.SAMPLE_DATA, "x": "<b>&'\"", "item": {"index": 1}}


@FUZZ
@given(any_text)
def test_parsing_any_text_raises_nothing_but_merge_error(text):
    try:
        tree = parse_template(text)
    except MergeError as exc:
        assert str(exc)
    else:
        referenced_fields(tree)


@FUZZ
@given(any_text)
def test_the_check_on_save_reports_problems_with_their_location(text):
    checker = BodyChecker(FIELDS)
    checker.check_template(unescape_merge_tags(text), "Block 1 (Rich text)", 0)
    checker.check_template(text_to_template(text), "Block 2 (Table)", 1)
    assert all(problem.location.startswith("Block ") and problem.message for problem in checker.problems)


@FUZZ
@given(any_text)
def test_rendering_any_text_raises_nothing_but_merge_error(text):
    for autoescape in (True, False):
        try:
            output = render_source(text, DATA, autoescape=autoescape)
        except MergeError as exc:
            assert str(exc)
        else:
            assert isinstance(output, str)


@FUZZ
@given(st.one_of(merge_text.map(lambda text: text.replace("{{", "").replace("}}", "")), st.text(max_size=80)))
def test_conditions_raise_nothing_but_merge_error(text):
    try:
        parse_expression(text)
        evaluate_expression(text, DATA)
    except MergeError as exc:
        assert str(exc)


RESERVED = set(keyword.kwlist) | {"true", "false", "none", "and", "or", "not", "in", "is", "if", "else", "loop",
                                  "self", "range", "super", "caller", "varargs", "kwargs"}
identifier = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True).filter(lambda name: name not in RESERVED)
field_path = st.lists(identifier, min_size=1, max_size=4).map(".".join)


def nested(path, value):
    data = value
    for part in reversed(path.split(".")):
        data = {part: data}
    return data


# Literal text without merge syntax; Jinja reads "\r" as a line break, as the editor does.
literal_text = st.text(alphabet=st.characters(blacklist_characters="{}%#\r"), max_size=40)


@FUZZ
@given(field_path, st.text(max_size=60), literal_text)
def test_a_valid_merge_field_round_trips(path, value, literal):
    source = "{{ " + path + " }}"
    assert [reference.path for reference in referenced_fields(parse_template(source))] == [path]
    assert FieldIndex.from_specs([FieldSpec(path)]).explain_path(path) is None
    data = nested(path, value)
    assert render_source(source, data) == str(escape(value))  # HTML: escaped, never markup
    assert render_source(source, data, autoescape=False) == value  # text channels: as typed
    # Authored plain text around the field: its literal parts are escaped, the field merged.
    assert render_source(text_to_template(literal + source), data) == str(escape(literal)) + str(escape(value))
    # Data is never template: a value that looks like merge syntax comes out as typed.
    assert render_source(source, nested(path, "{{ 7*7 }}" + value), autoescape=False) == "{{ 7*7 }}" + value
