"""Bounded property tests (hypothesis) of the sandbox's two promises (issue 12):

- it renders text, never markup: content built from a grammar of merge constructs (tags,
  filters, set/if/for, string literals holding markup, slicing, concatenation, the
  constructs that are refused) over hostile data never produces a tag or an attribute that
  the content's own cleaned static HTML does not hold (no <script>, no on…= handler, no
  javascript: address);
- its work is bounded before it is done: content built from a grammar of repeats, joins,
  loops and expensive filters over large data, under a small budget, stops with a clear error
  or renders, without using more memory than the budget allows for, and the same content and
  data always end the same way (the budget counts, it does not time).
"""

import html
import tracemalloc
from html.parser import HTMLParser

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from wagtail_correspondence.rendering.budget import letter_budget
from wagtail_correspondence.rendering.richtext import rich_text_source
from wagtail_correspondence.rendering.sandbox import MergeError, collect_missing, render_source, text_to_template

# The same bounds as the other fuzz tests: fixed examples, no deadline, no example database.
FUZZ = hypothesis_settings(max_examples=200, deadline=None, database=None, derandomize=True,
                           suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(1)> <a href="javascript:alert(1)">x</a>'
DATA = {"h": HOSTILE, "hl": [HOSTILE, "<", ">", "script", "on", "click=", "javascript:"], "n": 3,
        "addr": {"line1": HOSTILE, "postal_code": "<b>", "city": "onload=x"}}

# Expressions ------------------------------------------------------------------------------
ATOMS = ["h", "hl", "n", "addr", "nope", "'<script>'", "'<'", "'>'", "'/'", "'script'", "' onclick='",
         "'javascript:'", "'<img src=x onerror=alert(1)>'", "'\"'", "0", "1", "2", "loop", "x"]
FILTERS = ["upper", "lower", "reverse", "string", "e", "escape", "forceescape", "first", "last", "join",
           "join('<')", "replace('a', '<')", "replace('&lt;', '<')", "center(9)", "indent(2)", "trim", "title",
           "address", "tojson", "pprint", "list", "format('%s')", "striptags", "truncate(9)", "wordwrap(5)",
           "map('upper')|join", "default('<b>')", "batch(2)|list", "sort", "unique|list", "attr('x')"]
# Constructs that used to make markup: refused wherever they appear.
REFUSED_FILTERS = ["safe", "xmlattr", "urlize", "map('safe')|join"]


def expressions(filters=FILTERS):
    atoms = st.sampled_from(ATOMS)

    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(filters)).map(lambda t: f"({t[0]})|{t[1]}"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]}) ~ ({t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]}) + ({t[1]})"),
            st.tuples(inner, st.sampled_from(["[0]", "[1]", "[1:3]", "[::-1]", "[:1]", "[-1]"])).map(
                lambda t: f"({t[0]}){t[1]}"),
            st.tuples(inner, inner).map(lambda t: f"[{t[0]}, {t[1]}]"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} if {t[1]} else 'x')"),
            inner.map(lambda e: f"({e}) * 2"),
        )

    return st.recursive(atoms, extend, max_leaves=6)


# Static HTML the content may hold (cleaned), and text typed in the editor (stored escaped).
STATIC = ["<p>", "</p>", "<b>", "</b>", "<i>", "</i>", '<a href="https://x.org/">', "</a>", "Dear ", " ",
          "&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "<br>", "<ul><li>",
          "</li></ul>"]


def tag(text):
    return html.escape(text, quote=False)  # as the editor stores it: < and > inside tags as entities


def merge_constructs(expression):
    simple = st.one_of(
        expression.map(lambda e: tag("{{ " + e + " }}")),
        expression.map(lambda e: tag("{% set x = " + e + " %}")),
        st.sampled_from(["{# {{ #}", "{% raw %}{{ &lt;script&gt; }}{% endraw %}", "{{ '}}' }}"]),
    )

    def wrap(inner):
        body = st.lists(st.one_of(inner, st.sampled_from(STATIC)), max_size=4).map("".join)
        return st.one_of(
            st.tuples(expression, body).map(lambda t: tag("{% if " + t[0] + " %}") + t[1] + "{% endif %}"),
            st.tuples(expression, body).map(lambda t: tag("{% for x in " + t[0] + " %}") + t[1] + "{% endfor %}"),
        )

    return st.recursive(simple, wrap, max_leaves=5)


def content(constructs):
    return st.lists(st.one_of(constructs, st.sampled_from(STATIC)), min_size=1, max_size=8).map("".join)


stored_rich_text = content(merge_constructs(expressions()))
# One construct that made markup, somewhere among ordinary ones.
refused_construct = st.one_of(
    expressions(REFUSED_FILTERS).filter(lambda e: any(f"|{name}" in e for name in REFUSED_FILTERS)).map(
        lambda e: tag("{{ " + e + " }}")),
    st.lists(st.sampled_from(STATIC), max_size=3).map(
        lambda b: "{% set x %}" + "".join(b) + "{% endset %}{{ x[0] ~ 'script' ~ x[2] }}"),
    st.tuples(st.sampled_from(FILTERS + REFUSED_FILTERS), st.lists(st.sampled_from(STATIC), max_size=3)).map(
        lambda t: tag("{% filter " + t[0] + " %}") + "".join(t[1]) + "{% endfilter %}"),
    st.lists(st.sampled_from(STATIC), max_size=3).map(
        lambda b: "{% autoescape false %}{{ h }}" + "".join(b) + "{% endautoescape %}"),
)
rich_text_with_a_refused_construct = st.tuples(stored_rich_text, refused_construct, stored_rich_text).map("".join)


class Elements(HTMLParser):
    """(tag, attribute names, href) of every start tag, as a browser reads them."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.found = set()
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        names = tuple(sorted(name for name, _value in attrs))
        self.found.add((tag, names, dict(attrs).get("href")))

    handle_startendtag = handle_starttag


def static_elements(source):
    """The elements of the template's own (cleaned) HTML: its data, the tags taken out."""
    from wagtail_correspondence.rendering.merge_tags import split_merge_tags

    return Elements("".join(piece for piece in split_merge_tags(source) if isinstance(piece, str))).found


# What the output step itself writes: an address's line breaks, a missing field's marker.
WRITTEN_BY_THE_SANDBOX = {("br", (), None), ("mark", ("class", "title"), None)}


def assert_no_new_markup(output, allowed):
    for element in Elements(output).found:
        assert element in allowed | WRITTEN_BY_THE_SANDBOX, (element, output)
        tag, names, href = element
        assert tag != "script" and not any(name.startswith("on") for name in names), output
        assert not (href or "").strip().lower().startswith("javascript:"), output


def render_both_ways(source):
    """Outputs of ``source`` over the hostile data, strict and collecting missing fields."""
    outputs = []
    for collecting in (False, True):
        try:
            if collecting:
                with collect_missing():
                    outputs.append(render_source(source, DATA))
            else:
                outputs.append(render_source(source, DATA))
        except MergeError:
            continue
    return outputs


@FUZZ
@given(stored_rich_text)
def test_rich_text_never_renders_markup_it_does_not_hold(stored):
    prepared = rich_text_source(stored)
    assert not prepared.fatal, prepared.problems  # the grammar only puts merge tags in text
    allowed = static_elements(prepared.source)
    for output in render_both_ways(prepared.source):
        assert_no_new_markup(output, allowed)


@FUZZ
@given(rich_text_with_a_refused_construct)
def test_constructs_that_made_markup_are_refused_wherever_they_stand(stored):
    prepared = rich_text_source(stored)
    assert prepared.fatal or render_both_ways(prepared.source) == []


@FUZZ
@given(st.lists(st.one_of(merge_constructs(expressions()), refused_construct,
                          st.sampled_from(["<script>", "Dear ", "</p>", "&"])),
                min_size=1, max_size=8).map(lambda parts: html.unescape("".join(parts))))
def test_plain_text_cells_never_render_markup(text):
    """Table cells, list columns, subjects: no static HTML at all; only what the sandbox writes."""
    try:
        with collect_missing():
            output = render_source(text_to_template(text), DATA)
    except MergeError:
        return
    assert_no_new_markup(output, set())


# Bounded work ------------------------------------------------------------------------------

# Large data: a 200,000-character string, a long list, records to sort and group.
BIG = {"s": "x" * 200_000, "w": ("lorem ipsum " * 20_000)[:200_000], "l": list(range(20_000)),
       "r": [{"a": i % 7, "b": str(i)} for i in range(5_000)], "one": "y"}
AMPLIFIERS = ["[s] * 2000", "[s] * 199999", "s * 2", "[s, s, s] * 500", "l|sum(start=[])", "[l] * 100",
              "(s ~ s) ~ s", "s|wordwrap", "w|wordwrap(3)", "w|title", "s|center(199999)", "s|indent(9)",
              "[s]|join(s)", "l|join(s)", "s|replace('x', 'yy')", "w|replace(' ', w)", "r|sort(attribute='b')",
              "r|groupby('a')", "r|unique|list", "r|pprint", "r|tojson", "[r] * 50", "'%s' % ([s] * 10,)",
              "s|format", "l|map('string')|join", "r|map(attribute='b')|join", "s.split('x')", "w.split()",
              "s == w", "one in s", "s[::-1]", "l|batch(3)|list", "s|list", "l|reverse|list", "[[s] * 10] * 10",
              "s|striptags", "(l ~ l)|length", "r|dictsort", "w|urlencode"]


def work_templates():
    amplifier = st.sampled_from(AMPLIFIERS)
    single = amplifier.map(lambda a: "{{ (" + a + ")|string|length }}")
    return st.recursive(single, lambda inner: st.one_of(
        st.tuples(st.sampled_from(["l", "r", "w", "s|list"]), inner).map(
            lambda t: "{% for i in " + t[0] + " %}" + t[1] + "{% endfor %}"),
        st.tuples(amplifier, inner).map(lambda t: "{% set s = " + t[0] + " %}" + t[1]),
        st.lists(inner, min_size=2, max_size=3).map("".join),
    ), max_leaves=4)


SMALL_BUDGET = {"WORK_PER_RENDER": 20_000, "WORK_PER_LETTER": 30_000, "OUTPUT_PER_LETTER": 200_000,
                "SECONDS_PER_LETTER": 60}


def render_under_budget(source):
    with letter_budget() as budget:
        try:
            output = render_source(source, BIG)
        except MergeError as exc:
            return ("refused", str(exc)), budget.used
    return ("rendered", output), budget.used


@hypothesis_settings(max_examples=60, deadline=None, database=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(work_templates())
def test_work_is_bounded_before_it_is_done(settings, source):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "RENDER_BUDGET": SMALL_BUDGET}
    tracemalloc.start()
    try:
        first, used = render_under_budget(source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Memory: what a small budget allows (a few values of at most 200,000 characters, the
    # output), never the gigabytes an unchecked repeat or join would build.
    assert peak < 40_000_000, (source, peak)
    assert used <= SMALL_BUDGET["WORK_PER_LETTER"] + 400_000, (source, used)  # one charge may pass the limit
    # Counted, not timed: the same content and data end the same way, with the same units.
    assert render_under_budget(source) == (first, used)
