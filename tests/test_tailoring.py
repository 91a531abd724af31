"""Agents tailor letters within the template's bounds: edit or leave out the paragraphs a template
marks tailorable (rich text limited to the letter's styles, merge fields checked and sandboxed,
the approved revision recorded, a redline of the change), arrange approved fragments in zones
(add, reorder, choose one, page breaks); locked fragments cannot be changed through the services,
the builder or the API; a re-rendered letter is byte for byte the one generated."""

import copy
import json
import re

import pytest
from django.urls import reverse
from wagtail.models import Revision

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.blocks import TemplateBodyBlock
from wagtail_correspondence.models import Letter, LetterApprovalRule, LetterStatus
from wagtail_correspondence.rendering.tailoring import PAGE_BREAK
from wagtail_correspondence.services import letters as service
from wagtail_correspondence.services.letter_approval import approve_letter

from . import factories

pytestmark = pytest.mark.usefixtures("one_customer")
API = "/api/correspondence/v1/"
APOLOGY = ("<p>We are sorry that your claim took {{ customer.first_name }} so long.</p>"
           "<p>{% if customer.vip %}As a valued customer, you{% else %}You{% endif %} can call us any day.</p>")


@pytest.fixture
def content(customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary, key="greeting")
    apology = factories.fragment(customer_dictionary, key="apology", html=APOLOGY)
    closing = factories.fragment(customer_dictionary, key="closing", html="<p>Kind regards,</p>")
    steps = {key: factories.fragment(customer_dictionary, key=key, html=f"<p>STEP {key.upper()}</p>")
             for key in ("call-us", "send-papers", "visit-office")}
    table = factories.fragment(customer_dictionary, key="balance-table", body=factories.fragment_body(
        ("table", {"data": [["Balance", "{{ balance|money }}"]], "first_row_is_table_header": False,
                   "first_col_is_header": False})))
    body = factories.template_body(
        ("fragment", greeting),
        ("tailorable_fragment", {"name": "apology", "label": "Apology paragraph", "fragment": apology,
                                 "agents_may": "edit_or_remove", "allow_links": False, "max_length": 400}),
        ("fragment_zone", {"name": "next_steps", "label": "Next steps", "help": "",
                           "fragments": [steps["call-us"], steps["send-papers"], steps["visit-office"]],
                           "arrangement": "any_order", "start_with": "none", "min_count": 0, "max_count": 2,
                           "page_breaks": True}),
        ("tailorable_fragment", {"name": "balance", "label": "Balance", "fragment": table, "agents_may": "remove",
                                 "allow_links": False, "max_length": 4000}),
        ("tailorable_fragment", {"name": "closing", "label": "Closing", "fragment": closing, "agents_may": "edit",
                                 "allow_links": False, "max_length": 4000}),
    )
    template = factories.letter_template(customer_dictionary, standard_layout, [], title="Claim reply", body=body)
    return {"template": template, "apology": apology, "closing": closing, "steps": steps, "greeting": greeting}


def request_for(template, **kwargs):
    return service.LetterRequest(template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="print",
                                 **kwargs)


def problems_of(agent, template, **kwargs):
    with pytest.raises(service.LetterError) as caught:
        service.generate_letter(agent, request_for(template, **kwargs))
    found = {}
    for problem in caught.value.problems:
        found[problem.field] = f"{found[problem.field]} {problem.message}" if problem.field in found else problem.message
    return found


def body_text(letter):
    return letter.html.split('class="letter-body"', 1)[-1]


def test_an_edited_paragraph_is_the_agents_text_with_merge_fields_and_the_approved_revision(agent, content):
    edit = ("<p>We are <b>truly</b> sorry that your claim took so long, {{ customer.first_name }} "
            "{{ customer.last_name }}.</p><p>{% if customer.vip %}As a valued customer, you{% else %}You{% endif %} "
            "can call us any day.</p>")
    letter = service.generate_letter(agent, request_for(content["template"], edits={"apology": {"html": edit}}))
    assert letter.status == LetterStatus.GENERATED
    assert "We are <b>truly</b> sorry that your claim took so long, Ada Peeters." in letter.html
    assert "You can call us any day." in letter.html and "STEP" not in letter.html
    revision = content["apology"].live_revision_id
    assert letter.fragment_edits == {"apology": {"html": letter.fragment_edits["apology"]["html"],
                                                 "based_on": revision}}
    pin = letter.fragment_pins.get(fragment=content["apology"])
    assert pin.revision_id == revision and pin.included
    # The audit log has the redline against the approved wording.
    entry = letter_log(letter, log_actions.LETTER_GENERATED)
    record = entry.data["tailored"]
    assert record == [{"name": "apology", "label": "Apology paragraph", "fragment": "apology", "revision": revision,
                       "removed": False, "redline": record[0]["redline"]}]
    assert record[0]["redline"] == ("We are{+ *truly*+} sorry that your claim took {+so long, +}Ada "
                                    "[-so long.-]{+Peeters.+}\nYou can call us any day.")
    assert entry.message.endswith("; approved wording changed (Apology paragraph: " + record[0]["redline"] + ")")
    # Re-rendering from the record reproduces it byte for byte, the edit included.
    assert service.rerender_letter(letter).html == letter.html


def letter_log(letter, action):
    from wagtail.models import ModelLogEntry

    return ModelLogEntry.objects.filter(object_id=str(letter.pk), action=action).get()


def test_pasted_word_and_html_are_cleaned_to_the_letters_styles(agent, content):
    pasted = ('<p class="MsoNormal" style="margin:0"><span style="font-family:Calibri">Sorry for the '
              '<i>delay</i>.</span><o:p></o:p></p><script>alert(1)</script><h1>Huge</h1>'
              '<a href="javascript:alert(1)">click</a><img src="x" onerror="alert(2)"><ul><li>one</li></ul>')
    letter = service.generate_letter(agent, request_for(content["template"], edits={"apology": {"html": pasted}}))
    body = body_text(letter)
    assert "Sorry for the <i>delay</i>." in body and "<li>one</li>" in body and "Huge" in body
    for gone in ("MsoNormal", "font-family", "<script", "alert(", "<h1", "<a ", "<img", "onerror", "o:p"):
        assert gone not in body, gone


def test_links_in_edits_only_where_the_template_allows_them(agent, content, customer_dictionary, standard_layout):
    letter = service.generate_letter(agent, request_for(content["template"], edits={
        "apology": {"html": '<p>See <a href="https://example.org/claims">our page</a>.</p>'}}))
    assert "See our page." in body_text(letter) and "example.org/claims" not in letter.html


def test_merge_fields_in_edits_are_checked_escaped_and_sandboxed(agent, content, customers):
    template = content["template"]
    found = problems_of(agent, template, edits={"apology": {"html": "<p>{{ customer.shoe_size }}</p>"}})
    assert "shoe_size" in found["edits.apology"]
    found = problems_of(agent, template, edits={
        "apology": {"html": "<p>{% for i in range(10) %}spam{% endfor %}</p>"}})
    assert "Only merge fields" in found["edits.apology"] and "{% for i in range(10) %}" in found["edits.apology"]
    found = problems_of(agent, template, edits={"apology": {"html": "<p>{{ customer.__class__ }}</p>"}})
    assert "edits.apology" in found
    found = problems_of(agent, template, edits={"apology": {"html": "<p>{{ customer.first_name </p>"}})
    assert "edits.apology" in found
    # Data is text, never markup, in the agent's text as in authored text.
    hostile = copy.deepcopy(factories.SAMPLE_DATA)
    hostile["customer"]["first_name"] = "<script>alert(1)</script>"
    customers(hostile)
    letter = service.generate_letter(agent, service.LetterRequest(
        template=template, customer_id="C-1001", channel="print",
        edits={"apology": {"html": "<p>Dear {{ customer.first_name }}, sorry.</p>"}}))
    assert "Dear &lt;script&gt;alert(1)&lt;/script&gt;, sorry." in letter.html and "<script>alert" not in letter.html
    assert not Letter.objects.filter(status=LetterStatus.GENERATED).exclude(pk=letter.pk).exists()


def test_the_text_limit_counts_what_the_customer_reads(agent, content):
    found = problems_of(agent, content["template"], edits={"apology": {"html": f"<p>{'word ' * 100}</p>"}})
    assert "at most 400" in found["edits.apology"]


def test_locked_and_out_of_bounds_changes_are_refused_naming_the_block(agent, content):
    template = content["template"]
    found = problems_of(agent, template, edits={"greeting": {"html": "<p>Hi</p>"}})
    assert "“greeting”" in found["edits.greeting"] and "locked" in found["edits.greeting"]
    found = problems_of(agent, template, edits={"closing": {"removed": True}})
    assert found["edits.closing"] == "The template does not let agents leave out “Closing”."
    found = problems_of(agent, template, edits={"balance": {"html": "<p>No balance</p>"}})
    assert found["edits.balance"] == "The template does not let agents change the wording of “Balance”."
    found = problems_of(agent, template, edits={"apology": {"html": "<p>x</p>", "removed": True}})
    assert "either" in found["edits.apology"]
    found = problems_of(agent, template, edits={"apology": "<p>x</p>"})
    assert "edits.apology" in found
    found = problems_of(agent, template, edits=["apology"])
    assert "edits" in found
    assert not Letter.objects.exists()


def test_an_edit_made_on_older_approved_wording_is_looked_at_again(agent, content):
    apology = content["apology"]
    old_revision = apology.live_revision_id
    apology.body = factories.fragment_body(factories.rich_text("<p>We apologise for the delay.</p>"))
    apology.save_revision().publish(skip_permission_checks=True)
    apology.refresh_from_db()
    found = problems_of(agent, content["template"], edits={
        "apology": {"html": "<p>Sorry, {{ customer.first_name }}.</p>", "based_on": old_revision}})
    assert f"based on revision {apology.live_revision_id}" in found["edits.apology"]
    letter = service.generate_letter(agent, request_for(content["template"], edits={
        "apology": {"html": "<p>Sorry, {{ customer.first_name }}.</p>", "based_on": apology.live_revision_id}}))
    assert "Sorry, Ada." in letter.html


def test_leaving_out_and_an_unchanged_edit(agent, content):
    template = content["template"]
    edits = {"apology": {"removed": True}, "balance": {"removed": True}}
    letter = service.generate_letter(agent, request_for(template, edits=edits))
    assert "sorry" not in letter.html.lower() and "Balance" not in body_text(letter)
    assert not letter.fragment_pins.get(fragment=content["apology"]).included
    assert set(letter.fragment_edits) == {"apology", "balance"}
    assert letter_log(letter, log_actions.LETTER_GENERATED).message.endswith(
        "approved wording changed (Apology paragraph left out | Balance left out)")
    assert letter.fragment_edits["apology"]["removed"] is True
    # The approved wording sent back as it is is no edit.
    unchanged = service.generate_letter(agent, request_for(template, edits={"apology": {"html": APOLOGY}}))
    assert unchanged.fragment_edits == {}


def test_zones_add_reorder_and_break_pages_within_bounds(agent, content):
    template = content["template"]
    default = service.generate_letter(agent, request_for(template))
    assert "STEP" not in default.html and default.zone_choices == {"next_steps": []}
    letter = service.generate_letter(agent, request_for(template, zones={
        "next_steps": ["visit-office", PAGE_BREAK, "call-us"]}))
    body = body_text(letter)
    assert body.index("STEP VISIT-OFFICE") < body.index('class="page-break"') < body.index("STEP CALL-US")
    assert "STEP SEND-PAPERS" not in body
    assert letter.zone_choices == {"next_steps": ["visit-office", PAGE_BREAK, "call-us"]}
    assert letter.pdf_pages == 2
    pins = {pin.fragment.key: pin.included for pin in letter.fragment_pins.select_related("fragment")}
    assert pins["visit-office"] and pins["call-us"] and not pins["send-papers"]
    assert service.rerender_letter(letter).html == letter.html
    for zones, message in (
            ({"next_steps": ["call-us", "send-papers", "visit-office"]}, "at most 2"),
            ({"next_steps": ["call-us", "call-us"]}, "twice"),
            ({"next_steps": ["greeting"]}, "greeting cannot be used here"),
            ({"next_steps": "call-us"}, "list of fragment keys"),
            ({"elsewhere": ["call-us"]}, "no zone"),
    ):
        found = problems_of(agent, template, zones=zones)
        assert message in " ".join(found.values()), (zones, found)


def ordered_and_choice_template(steps, customer_dictionary, standard_layout, *, start_with, min_count, choice):
    """A template with a zone of all ``steps`` in their listed order and a choice of one way to
    reach us (zone ``choice``)."""
    body = factories.template_body(
        ("fragment_zone", {"name": "steps", "label": "Steps", "help": "", "fragments": list(steps.values()),
                           "arrangement": "listed_order", "start_with": start_with, "min_count": min_count,
                           "max_count": None, "page_breaks": False}),
        ("fragment_zone", {"name": choice, "label": "How to reach us", "help": "",
                           "fragments": [steps["call-us"], steps["visit-office"]], "arrangement": "choose_one",
                           "start_with": "none", "min_count": 0, "max_count": None, "page_breaks": False}))
    return factories.letter_template(customer_dictionary, standard_layout, [], title="Ordered", body=body)


def test_an_ordered_zone_and_a_choice_of_one(agent, content, customer_dictionary, standard_layout):
    template = ordered_and_choice_template(content["steps"], customer_dictionary, standard_layout,
                                           start_with="all", min_count=1, choice="channel")
    letter = service.generate_letter(agent, request_for(template))
    assert letter.zone_choices == {"steps": ["call-us", "send-papers", "visit-office"], "channel": ["call-us"]}
    found = problems_of(agent, template, zones={"steps": ["visit-office", "call-us"]})
    assert "order it lists" in found["zones.steps"]
    found = problems_of(agent, template, zones={"steps": [], "channel": ["call-us", "visit-office"]})
    assert "at least 1" in found["zones.steps"] and "exactly one" in found["zones.channel"]
    found = problems_of(agent, template, zones={"steps": ["call-us", PAGE_BREAK]})
    assert "page breaks" in found["zones.steps"]


def test_a_template_refuses_an_editable_fragment_that_is_more_than_text(content, customer_dictionary,
                                                                        standard_layout):
    from django.core.exceptions import ValidationError

    table = factories.fragment(customer_dictionary, key="a-table", body=factories.fragment_body(
        ("table", {"data": [["a"]], "first_row_is_table_header": False, "first_col_is_header": False})))
    template = content["template"]
    template.body = factories.template_body(
        ("tailorable_fragment", {"name": "x", "label": "X", "fragment": table, "agents_may": "edit",
                                 "allow_links": False, "max_length": 4000}),
        ("fragment_zone", {"name": "z", "label": "Z", "help": "", "fragments": [table, table],
                           "arrangement": "any_order", "start_with": "none", "min_count": 3, "max_count": None,
                           "page_breaks": False}))
    with pytest.raises(ValidationError) as caught:
        template.full_clean()
    messages = " ".join(caught.value.message_dict["body"])
    assert "holds more than rich text" in messages and "listed twice" in messages and "at least 3" in messages
    block = TemplateBodyBlock().child_blocks["fragment_zone"]
    with pytest.raises(Exception) as caught:
        block.clean({**block.get_default(), "name": "z", "label": "Z", "fragments": [table], "min_count": 3,
                     "max_count": 2})
    assert "cannot be lower" in str(caught.value.block_errors["max_count"])


def test_changed_wording_needs_approval_when_a_rule_says_so(agent, content, make_user):
    LetterApprovalRule.objects.create(name="Changed wording", agent_wrote_text=True)
    plain = service.generate_letter(agent, request_for(content["template"], zones={"next_steps": ["call-us"]}))
    assert plain.status == LetterStatus.GENERATED
    edited = service.generate_letter(agent, request_for(content["template"], edits={
        "apology": {"html": "<p>So sorry.</p>"}}))
    assert edited.status == LetterStatus.PENDING_APPROVAL and edited.approval_reasons == ["Changed wording"]
    removed = service.generate_letter(agent, request_for(content["template"], edits={"apology": {"removed": True}}))
    assert removed.status == LetterStatus.PENDING_APPROVAL
    approver = make_user("approver", roles.SUPERVISORS)
    approved = approve_letter(approver, edited, comment="")
    assert approved.status == LetterStatus.GENERATED and "So sorry." in approved.html


def test_a_draft_keeps_the_edits_and_zones_to_resume(agent, content):
    request = request_for(content["template"], edits={"apology": {"html": "<p>Draft words</p>"}},
                          zones={"next_steps": ["send-papers"]})
    draft = service.save_draft(agent, request)
    resumed = service.request_for_draft(draft)
    assert resumed.edits == {"apology": {"html": "<p>Draft words</p>"}}
    assert resumed.zones == {"next_steps": ["send-papers"]}
    letter = service.generate_letter(agent, resumed, draft=draft)
    assert "Draft words" in letter.html and "STEP SEND-PAPERS" in letter.html
    assert Revision.objects.filter(pk=letter.fragment_edits["apology"]["based_on"]).exists()
    assert json.dumps(letter.fragment_edits)


def test_the_api_offers_the_bounds_takes_edits_and_shows_the_redline(client, agent, content, make_user):
    template = content["template"]
    client.force_login(agent)
    offered = client.get(f"{API}templates/{template.pk}/").json()
    apology = next(item for item in offered["tailorable_fragments"] if item["name"] == "apology")
    assert apology["agents_may"] == "edit_or_remove" and apology["revision"] == content["apology"].live_revision_id
    assert "{{ customer.first_name }}" in apology["approved_html"] and "data-block-key" not in apology["approved_html"]
    assert offered["zones"][0]["fragments"] == ["call-us", "send-papers", "visit-office"]
    payload = {"template": template.pk, "data": factories.SAMPLE_DATA, "channel": "print",
               "edits": {"apology": {"html": "<p>We are <em>very</em> sorry, {{ customer.first_name }}.</p>",
                                     "based_on": apology["revision"]}},
               "zones": {"next_steps": ["send-papers", "page_break", "call-us"]}}
    preview = client.post(f"{API}letters/preview/", payload, content_type="application/json").json()
    assert preview["can_generate"] and "We are <em>very</em> sorry, Ada." in preview["html"]
    created = client.post(f"{API}letters/", payload, content_type="application/json")
    assert created.status_code == 201, created.content
    letter = created.json()
    assert letter["zones"] == {"next_steps": ["send-papers", "page_break", "call-us"]}
    assert letter["edits"]["apology"]["based_on"] == apology["revision"]
    [tailored] = letter["tailoring"]
    assert tailored["name"] == "apology" and tailored["fragment"] == "apology" and not tailored["removed"]
    assert "{+_very_+}" in tailored["redline"]
    assert {"kind": "insert", "text": "very", "bold": False, "italic": True} in [
        {**piece, "text": piece["text"].strip()} for piece in tailored["changes"]]
    # Tampered payloads: locked fragments, changes the template does not allow.
    for edits, field, words in (({"greeting": {"html": "<p>Hi</p>"}}, "edits.greeting", "locked"),
                                ({"closing": {"removed": True}}, "edits.closing", "leave out “Closing”"),
                                ({"apology": {"html": 5}}, "edits.apology", "“html” text")):
        refused = client.post(f"{API}letters/", {**payload, "edits": edits}, content_type="application/json")
        assert refused.status_code == 400
        errors = {error["field"]: error["message"] for error in refused.json()["errors"]}
        assert words in errors[field], errors
    # A draft changed through the API keeps its edits and zones unless they are given.
    draft = client.post(f"{API}letters/", {**payload, "status": "draft"}, content_type="application/json").json()
    patched = client.patch(f"{API}letters/{draft['id']}/", {"channel": "email"}, content_type="application/json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["edits"]["apology"]["html"].startswith("<p>We are <em>very</em>")
    assert patched.json()["zones"] == payload["zones"]
    Letter.objects.filter(status=LetterStatus.DRAFT).delete()
    refused = client.post(f"{API}letters/", {**payload, "zones": {"next_steps": ["greeting"]}},
                          content_type="application/json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "zones.next_steps"
    assert Letter.objects.count() == 1


def contentstate(text, bold=None):
    styles = [{"offset": text.index(bold), "length": len(bold), "style": "BOLD"}] if bold else []
    return json.dumps({"blocks": [{"key": "a1b2c", "text": text, "type": "unstyled", "depth": 0,
                                   "inlineStyleRanges": styles, "entityRanges": [], "data": {}}], "entityMap": {}})


def test_the_builder_offers_only_what_the_template_allows_and_refuses_tampered_posts(client, agent, content):
    template = content["template"]
    client.force_login(agent)
    url = f"/admin/correspondence/letters/new/{template.pk}/"
    page = client.get(f"{url}?customer=C-1001").content.decode()
    assert 'name="tailor:apology" value="remove"' in page and 'name="tailor:apology" value="edit"' in page
    assert 'name="tailor:closing" value="remove"' not in page and 'name="tailor:balance" value="edit"' not in page
    assert 'name="edit:balance"' not in page and 'data-tailor-editor="apology"' in page
    assert "tailor:greeting" not in page and 'data-zone="next_steps"' in page
    revision = content["apology"].live_revision_id
    assert f'name="based_on:apology" value="{revision}"' in page
    form = {"customer_id": "C-1001", "channel": "print", "tailor:apology": "edit", "based_on:apology": revision,
            "edit:apology": contentstate("We are truly sorry, {{ customer.first_name }}.", bold="truly"),
            "tailor:closing": "keep", "tailor:balance": "remove", "zone:next_steps": "visit-office,page_break,call-us",
            "action": "generate"}
    for tampered, words in (({"tailor:closing": "remove"}, "does not let agents do this with “Closing”"),
                            ({"edit:greeting": contentstate("Hi")}, "“greeting” is locked"),
                            ({"zone:elsewhere": "call-us"}, "“elsewhere” is locked"),
                            ({"edit:apology": "<p>not the editor's JSON</p>"}, "The edited text is empty")):
        refused = client.post(url, {**form, **tampered})
        assert refused.status_code == 400 and words in refused.content.decode(), tampered
    assert not Letter.objects.exists()
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    letter = Letter.objects.get()
    assert "We are <b>truly</b> sorry, Ada." in letter.html and "Balance" not in body_text(letter)
    assert letter.zone_choices == {"next_steps": ["visit-office", PAGE_BREAK, "call-us"]}
    assert letter.fragment_edits["apology"]["based_on"] == revision
    # The letter's page shows the redline against the approved wording.
    page = client.get(f"/admin/correspondence/letters/inspect/{letter.pk}/").content.decode()
    assert 'data-tailored="apology"' in page and "<ins" in page and "<del" in page
    assert 'data-tailored="balance"' in page


def test_a_returned_letter_resumes_with_its_edits_and_the_stale_edit_is_rebased(client, agent, content):
    template = content["template"]
    draft = service.save_draft(agent, request_for(template, edits={"apology": {
        "html": "<p>Draft words</p>", "based_on": content["apology"].live_revision_id}},
        zones={"next_steps": ["send-papers"]}))
    client.force_login(agent)
    url = reverse("wagtail_correspondence_letters:edit", args=[draft.pk])
    page = client.get(url).content.decode()
    assert re.search(r'<input type="radio" name="tailor:apology" value="edit"[^>]*checked', page)
    assert "Draft words" in page and 'value="send-papers"' in page
    # The approved wording changes before the agent generates: they are told, and the next
    # submission is based on the new revision.
    apology = content["apology"]
    apology.body = factories.fragment_body(factories.rich_text("<p>New approved apology.</p>"))
    apology.save_revision().publish(skip_permission_checks=True)
    apology.refresh_from_db()
    form = {"customer_id": "C-1001", "channel": "print", "tailor:apology": "edit",
            "based_on:apology": draft.fragment_edits["apology"]["based_on"],
            "edit:apology": contentstate("Draft words"), "tailor:closing": "keep", "tailor:balance": "keep",
            "zone:next_steps": "send-papers", "action": "generate"}
    refused = client.post(url, form)
    assert refused.status_code == 400 and "changed since this edit was made" in refused.content.decode()
    assert f'name="based_on:apology" value="{apology.live_revision_id}"' in refused.content.decode()
    accepted = client.post(url, {**form, "based_on:apology": apology.live_revision_id})
    assert accepted.status_code == 302
    draft.refresh_from_db()
    assert draft.status == LetterStatus.GENERATED and "Draft words" in draft.html


@pytest.mark.parametrize("html, expected", [
    ("<p>{{ 'a' * 100000000 }}</p>", "refused: result too large"),
    ("<p>{{ range(100000000)|list }}</p>", "refused: Range too big"),
    ("<p>{{ customer.__class__.__mro__ }}</p>", "refused: names starting with '_' are private"),
    ("<p>{{ lipsum.__globals__ }}</p>", "refused: names starting with '_' are private"),
    ("<p>{{ customer.first_name }</p>", "refused: syntax error"),
    ("<p>}}{{</p>", "refused: syntax error"),
    ("<p>{# a comment #}x</p>", "<p>x</p>"),  # dropped, as Jinja drops comments
    ("<p>{% raw %}{{ x }}{% endraw %}</p>", "<p>&#123;&#123; x }}</p>"),  # raw blocks are text
    ('<p><a href="{{ customer.email }}">x</a></p>', "<p>x</p>"),  # no links in this paragraph
    ("\ue000 0 \ue001", "\ufffd 0 \ufffd"),  # the cleaner's own markers cannot be smuggled in
    ("<p>&#123;&#123; customer.id &#125;&#125;</p>", "<p>C-1001</p>"),  # as typed: a checked merge field
])
def test_hostile_edits_are_refused_naming_the_paragraph_or_rendered_as_text(agent, content, html, expected):
    try:
        letter = service.generate_letter(agent, request_for(content["template"], edits={"apology": {"html": html}}))
    except service.LetterError as exc:
        assert expected.startswith("refused: "), exc.problems
        [problem] = exc.problems
        assert problem.field == "edits.apology" and expected[len("refused: "):] in problem.message
        return
    assert not expected.startswith("refused"), f"rendered: {html}"
    paragraph = body_text(letter).split("Dear Ada,</p>", 1)[1].split('<table class="content-table">')[0]
    assert paragraph.strip() == expected


def test_a_draft_never_keeps_what_the_template_forbids(client, agent, content):
    """Drafts may lack data, but the shape and bounds of edits and zones are checked when they
    are saved (the API's draft and PATCH, the service), naming the field; nothing is saved."""
    template = content["template"]
    for edits, zones, field in (("garbage", None, "edits"), ({"greeting": {"html": "<p>x</p>"}}, None, "edits.greeting"),
                                ({"closing": {"removed": True}}, None, "edits.closing"),
                                (None, ["call-us"], "zones"), (None, {"next_steps": "call-us"}, "zones.next_steps"),
                                (None, {"elsewhere": []}, "zones.elsewhere")):
        with pytest.raises(service.LetterError) as caught:
            service.save_draft(agent, request_for(template, edits=edits, zones=zones))
        assert [problem.field for problem in caught.value.problems] == [field]
    assert not Letter.objects.exists()
    client.force_login(agent)
    payload = {"template": template.pk, "data": factories.SAMPLE_DATA, "status": "draft"}
    draft = client.post(f"{API}letters/", payload, content_type="application/json").json()
    refused = client.patch(f"{API}letters/{draft['id']}/", {"zones": ["call-us"]}, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "zones"
    assert Letter.objects.get().zone_choices is None
    # A draft the builder resumes always opens (even one stored before these checks).
    Letter.objects.update(fragment_edits="garbage", zone_choices=["call-us"])
    assert client.get(reverse("wagtail_correspondence_letters:edit", args=[Letter.objects.get().pk])).status_code == 200


def test_the_builder_ticks_an_ordered_zone_and_chooses_one(client, agent, content, customer_dictionary,
                                                           standard_layout):
    template = ordered_and_choice_template(content["steps"], customer_dictionary, standard_layout,
                                           start_with="none", min_count=0, choice="reach")
    client.force_login(agent)
    url = f"/admin/correspondence/letters/new/{template.pk}/"
    page = client.get(f"{url}?customer=C-1001").content.decode()
    assert 'type="checkbox" name="zone:steps" value="visit-office"' in page
    assert re.search(r'type="radio" name="zone:reach" value="call-us"[^>]*checked', page)
    form = {"customer_id": "C-1001", "channel": "print", "action": "generate",
            "zone:steps": ["visit-office", "call-us"], "zone:reach": "visit-office"}
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[-2000:]
    letter = Letter.objects.get()
    # Ticks keep the template's order, whatever order the post lists them in.
    assert letter.zone_choices == {"steps": ["call-us", "visit-office"], "reach": ["visit-office"]}
