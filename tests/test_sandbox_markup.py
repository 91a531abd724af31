"""The sandbox renders text, never markup (issue 12, finding 2).

Authors used to be able to emit raw HTML: filters that mark strings safe or write markup
(``|safe``, ``|xmlattr``, ``|urlize``), ``{% autoescape false %}``, the template's own HTML
captured as a value and taken apart (``{% set %}`` and ``{% filter %}`` blocks, the markup of
the address filter or of a missing field's marker), and merge tags found by a regex blind to
Jinja's comments and raw blocks. Each is refused on save (naming the block and the line),
refused again when content saved before is rendered, and no expression over hostile data can
produce a tag or an attribute the content's cleaned static HTML does not hold."""

import copy
import html
import re
from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from jinja2.exceptions import SecurityError, TemplateRuntimeError, TemplateSyntaxError
from wagtail.rich_text import RichText

from wagtail_correspondence.models import Fragment
from wagtail_correspondence.rendering.fragments import render_fragment_body
from wagtail_correspondence.rendering.merge_tags import split_merge_tags, text_to_template, unescape_merge_tags
from wagtail_correspondence.rendering.richtext import clean_static_html, rich_text_source
from wagtail_correspondence.rendering.sandbox import MergeError, collect_missing, get_environment, render_source

from . import factories

SCRIPT = re.compile(r"<\s*script|\son\w+\s*=|javascript:", re.IGNORECASE)

# (content, what the refusal on save says): each made a live <script> before.
MARKUP_CONSTRUCTS = [
    ("{{ '<script>alert(1)</script>'|safe }}", "'|safe' is not allowed"),
    ("<b{{ {'onclick': 'alert(1)'}|xmlattr }}>x</b>", "is not allowed"),  # a tag name with a merge tag in it
    ("{{ {'onclick': 'alert(1)'}|xmlattr }}", "'|xmlattr' is not allowed"),
    ("{{ 'http://x.org/\"onmouseover=alert(1)'|urlize }}", "'|urlize' is not allowed"),
    ("{{ ['<script>alert(1)</script>']|map('safe')|join }}", "'|safe' is not allowed"),
    ("{% autoescape false %}{{ '<script>alert(1)</script>' }}{% endautoescape %}", "'{% autoescape %}' is not"),
    ("{% set x %}<p>{% endset %}{{ x[0] ~ 'script' ~ x[2] }}alert(1){{ x[0] ~ '/script' ~ x[2] }}",
     "'{% set %}…{% endset %}' blocks are not allowed"),
    ("{% set x %}>tpircs<{% endset %}{{ x|reverse }}alert(1)", "'{% set %}…{% endset %}' blocks are not allowed"),
    ("{% filter replace('p', 'script') %}<p>alert(1)</p>{% endfilter %}", "'{% filter %}' blocks are not allowed"),
]


def test_random_is_refused_so_that_a_letter_renders_the_same_way_every_time(customer_dictionary):
    with pytest.raises(ValidationError, match=re.escape("'|random' is not allowed in content")):
        factories.fragment(customer_dictionary, key="r", html="<p>{{ invoices|random }}</p>", publish=False)


def live_markup(html):
    """Script elements, event-handler attributes and javascript: URLs, as a browser would read them."""
    found = []

    class Reader(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "script":
                found.append("<script>")
            for name, value in attrs:
                if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                    found.append(f"{name}={value}")

    Reader(convert_charrefs=True).feed(html)
    return found


def saved_before(dictionary, html, key="old"):
    """A live fragment saved before the checks on save existed (by code, or an import)."""
    fragment = Fragment(title=key, key=key, data_dictionary=dictionary, channels=["print"], live=True,
                        body=factories.fragment_body(factories.rich_text(html)))
    fragment.save()
    fragment.save_revision(clean=False).publish()
    fragment.refresh_from_db()
    return fragment


@pytest.mark.parametrize("content, message", MARKUP_CONSTRUCTS)
def test_markup_constructs_are_refused_on_save_naming_block_and_line(customer_dictionary, content, message):
    with pytest.raises(ValidationError) as excinfo:
        factories.fragment(customer_dictionary, key="markup", html=f"<p>Dear customer,</p>\n<p>{content}</p>",
                           publish=False)
    [problem] = excinfo.value.message_dict["body"]
    assert problem.startswith("Block 1 (Rich text): ") and message in problem and "(line 2)" in problem, problem
    assert not Fragment.objects.filter(key="markup").exists()


@pytest.mark.parametrize("content, message", MARKUP_CONSTRUCTS)
def test_content_saved_before_is_refused_when_rendered(customer_dictionary, content, message):
    fragment = saved_before(customer_dictionary, f"<p>{content}</p>")
    with pytest.raises(MergeError) as excinfo:
        render_fragment_body(fragment.live_object().body, copy.deepcopy(factories.SAMPLE_DATA))
    assert "not allowed" in str(excinfo.value)
    # The sandbox itself, compiled without the checks on save: no filter, no node to do it.
    with pytest.raises((SecurityError, TemplateSyntaxError, TemplateRuntimeError)):
        get_environment().from_string(content).render()


def test_markup_built_from_filters_that_write_markup_stays_text():
    """The address's <br> and a missing field's <mark> exist only in the output: taken apart
    inside an expression, they are text."""
    address = {"line1": "<b>1 Main St</b>", "postal_code": "9000", "city": "Ghent"}
    sources = ["{% set a = (address|address)|string %}{{ a }}", "{{ (address|address) ~ '<script>' }}",
               "{{ (address|address)|e }}", "{{ ((address|address)|string)[0:1] ~ 'script>' }}"]
    for source in sources:
        output = render_source(source, {"address": address})
        assert not live_markup(output) and "<br>" not in output, (source, output)
    assert render_source("{{ address|address }}", {"address": address}) == \
        "&lt;b&gt;1 Main St&lt;/b&gt;<br>9000 Ghent"  # still lines, when written out as it is
    assert render_source("{{ address|address }}", {"address": address}, autoescape=False) == \
        "<b>1 Main St</b>, 9000 Ghent"  # text channels: lines joined with commas
    with collect_missing():
        for source in ["{{ (nope|e)[0] ~ 'script' ~ (nope|e)[-1] ~ 'alert(1)' ~ (nope|e)[0] ~ '/script' ~ (nope|e)[-1] }}",
                       "{{ 'x'|replace('x', nope) ~ '<script>' }}", "{{ [nope, '<script>']|join }}"]:
            output = render_source(source, {})
            assert not live_markup(output), (source, output)


def test_a_markup_value_that_reaches_the_output_is_written_as_text():
    from markupsafe import Markup

    assert render_source("{{ value }}", {"value": Markup("<script>alert(1)</script>")}) == \
        "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert render_source("{{ value|e }}", {"value": "<b>"}) == "&lt;b&gt;"  # escaped once, as text
    assert render_source("{{ value|tojson }}", {"value": "</script><script>"}) == \
        "&#34;&lt;/script&gt;&lt;script&gt;&#34;"


# Merge tags found by Jinja's delimiters ---------------------------------------------------


@pytest.mark.parametrize("stored", [
    "<p>{# {{ #}&lt;script&gt;alert(1)&lt;/script&gt;{{ 1 }}</p>",
    "<p>{% raw %}{{ &lt;script&gt;alert(1)&lt;/script&gt; }}{% endraw %}</p>",
    "<p>{%- raw -%}&lt;script&gt;{%- endraw -%}</p>",
    "<p>{{ 'a' }}&lt;script&gt;alert(1)&lt;/script&gt;{{ 'b' }}</p>",
    "<p>{% if 1 %}&lt;img src=x onerror=alert(1)&gt;{% endif %}</p>",
])
def test_text_between_tags_is_never_unescaped(stored):
    source = rich_text_source(stored).source
    output = render_source(source, {})
    assert not live_markup(output), output
    assert "&lt;" in output  # shown as the text the author typed


def test_plain_text_cells_follow_the_same_delimiters():
    for text in ["{# {{ #}<script>alert(1)</script>{{ 1 }}", "{% raw %}<script>alert(1)</script>{% endraw %}",
                 "{{ '}}' }}<script>alert(1)</script>"]:
        output = render_source(text_to_template(text), {})
        assert not live_markup(output), output


def test_tags_end_where_jinja_ends_them():
    pieces = split_merge_tags("a {{ '}}' }} b {% if {'x': {'y': 1}}['x'] %}c{% endif %} {# }} #}d", entities=False)
    assert [piece if isinstance(piece, str) else piece.text for piece in pieces] == [
        "a ", "{{ '}}' }}", " b ", "{% if {'x': {'y': 1}}['x'] %}", "c", "{% endif %}", " ", "d"]
    assert render_source(unescape_merge_tags("{{ balance &gt; 0 and '&lt;' }}{% if 1 &lt; 2 %}&lt;ok&gt;{% endif %}"),
                         {"balance": 1}) == "&lt;&lt;ok&gt;"
    # An entity outside a tag stays an entity: it can never open one.
    assert render_source(unescape_merge_tags("&#123;&#123; 7*7 }}"), {}) == "&#123;&#123; 7*7 }}"


# Static markup cleaned to an allow-list ----------------------------------------------------


@pytest.mark.parametrize("html, message", [
    ("<p>Hi</p>\n<script>alert(1)</script>", "the HTML element <script> is not allowed in content (line 2)"),
    ("<p onclick=\"alert(1)\">Hi</p>", "the attribute 'onclick' of <p> is not allowed in content (line 1)"),
    ("<p><a href=\"javascript:alert(1)\">pay</a></p>", "links to 'javascript:' addresses are not allowed"),
    ("<p><a href=\"{{ customer.email }}\">mail</a></p>", "merge fields may only be used in text, or in a link"),
    ("<p title=\"{{ customer.first_name }}\">Hi</p>", "the attribute 'title' of <p> is not allowed"),
    ("<p><img src=x onerror=alert(1)></p>", "the HTML element <img> is not allowed"),
    ("<p><!-- {{ customer.first_name }} --></p>", "merge fields inside HTML comments are not allowed"),
])
def test_markup_outside_the_allow_list_is_refused_on_save(customer_dictionary, html, message):
    with pytest.raises(ValidationError) as excinfo:
        factories.fragment(customer_dictionary, key="markup", html=html, publish=False)
    assert any(message in problem for problem in excinfo.value.message_dict["body"]), excinfo.value


def test_content_saved_before_with_markup_is_cleaned_when_rendered(customer_dictionary):
    fragment = saved_before(customer_dictionary, '<p onclick="alert(1)">Dear {{ customer.first_name }}</p>'
                                                 '<script>alert(1)</script><p><a href="javascript:alert(1)">x</a></p>')
    output = render_fragment_body(fragment.live_object().body, copy.deepcopy(factories.SAMPLE_DATA))
    assert not live_markup(output)
    assert "<p>Dear Ada</p>" in output
    # A merge tag the cleaning cannot keep in place stops the block instead.
    broken = saved_before(customer_dictionary, "<p><script>{{ customer.first_name }}</script></p>", key="broken")
    with pytest.raises(MergeError, match="not allowed"):
        render_fragment_body(broken.live_object().body, copy.deepcopy(factories.SAMPLE_DATA))


def test_a_merge_field_in_a_link_after_a_fixed_scheme_stays_in_the_link(customer_dictionary):
    html = '<p><a href="https://pay.example.org/{{ customer.id }}?a=1&amp;b=2">Pay {{ balance|money }}</a></p>'
    fragment = factories.fragment(customer_dictionary, html=html)
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"]["id"] = '"><script>alert(1)</script>'
    output = render_fragment_body(fragment.live_object().body, data)
    assert output == ('<p><a href="https://pay.example.org/&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'
                      '?a=1&amp;b=2">Pay €250.00</a></p>')


def test_what_the_editor_writes_is_kept(customer_dictionary):
    html = ('<h2 data-block-key="a">Your account</h2><p data-block-key="b">Dear <b>{{ customer.first_name }}</b>, '
            '<i>see</i> <a href="mailto:help@example.org">us</a> or <a href="/contact/">here</a>.</p>'
            '<ul><li data-block-key="c">one<sup>1</sup></li></ul><hr/><ol><li>two<sub>2</sub></li></ol>')
    fragment = factories.fragment(customer_dictionary, html=html)
    output = render_fragment_body(fragment.live_object().body, copy.deepcopy(factories.SAMPLE_DATA))
    assert output == ('<h2>Your account</h2><p>Dear <b>Ada</b>, <i>see</i> <a href="mailto:help@example.org">us</a> '
                      'or <a href="/contact/">here</a>.</p><ul><li>one<sup>1</sup></li></ul><hr><ol><li>two'
                      '<sub>2</sub></li></ol>')


def test_a_layouts_header_and_footer_are_cleaned():
    assert clean_static_html('<p onclick="x()">Northwind<script>alert(1)</script></p>') == "<p>Northwind</p>"


# The previews an author's content reaches --------------------------------------------------

PAYLOAD = "{% set x %}<p>{% endset %}{{ x[0] ~ 'script' ~ x[2] }}alert(1){{ x[0] ~ '/script' ~ x[2] }}"


def test_the_fragment_preview_and_the_compare_page_show_no_live_markup(client, make_user, customer_dictionary):
    fragment = saved_before(customer_dictionary, f"<p>{PAYLOAD}</p>")
    admin = make_user("root", superuser=True)
    request = client.get("/").wsgi_request
    request.user = admin
    response = fragment.serve_preview(request, fragment.default_preview_mode)
    response.render()
    preview = response.content.decode()
    assert "not allowed" in preview and not SCRIPT.search(preview.split("</style>")[-1])
    fragment.body = factories.fragment_body(factories.rich_text("<p>{{ '<script>alert(1)</script>' }}</p>"))
    fragment.save_revision(clean=False)
    client.force_login(admin)
    page = client.get(reverse("wagtailsnippets_wagtail_correspondence_fragment:side_by_side",
                              args=[fragment.pk])).content.decode()
    # Both revisions are shown in sandboxed frames: read the documents they hold.
    frames = [html.unescape(document) for document in re.findall(r'srcdoc="([^"]*)"', page)]
    assert frames and "<script>alert(1)" not in page
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in frame for frame in frames)
    assert not any("<script>alert(1)" in frame for frame in frames)


def test_every_markup_construct_is_refused_by_the_checks_on_save(customer_dictionary):
    """The same constructs, inside a list's item text and a condition's content."""
    body = factories.fragment_body(("conditional", {"condition": "balance > 0", "content": [
        ("rich_text", RichText("<p>{{ customer.first_name|safe }}</p>"))], "otherwise": []}))
    fragment = Fragment(title="c", key="c", data_dictionary=customer_dictionary, channels=["print"], body=body)
    with pytest.raises(ValidationError, match=r"Block 1 \(Conditional section\) › content › Block 1 \(Rich text\): "
                                              r"'\|safe' is not allowed"):
        fragment.full_clean()


def test_a_layouts_page_number_text_stays_inside_its_css_string(standard_layout):
    from wagtail_correspondence.rendering.document import render_letter_document

    standard_layout.page_number_text = 'Page {page}</style><script>alert(1)</script>"}'
    standard_layout.show_page_numbers = True
    document = str(render_letter_document(layout=standard_layout, body_html="<p>x</p>"))
    assert not live_markup(document)
    assert document.count("</style>") == 1
