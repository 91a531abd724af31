"""The letter builder in the admin, through the test client: template chooser, builder
form, live preview, drafts, generation, the letter page, its PDF, and who may do what."""

import copy

import pytest
from django.urls import reverse

from wagtail_correspondence import roles
from wagtail_correspondence.models import Letter, LetterStatus

from . import factories

pytestmark = pytest.mark.usefixtures("one_customer")


@pytest.fixture
def template(customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary, key="greeting")
    extra = factories.fragment(customer_dictionary, key="extra", html="<p>Extra wording.</p>")
    body = factories.template_body(
        ("fragment", greeting),
        ("agent_slot", {"name": "note", "label": "Personal note", "help": "", "required": True, "max_length": 100,
                        "default_text": "Default note"}),
        ("optional_fragments", {"name": "extras", "label": "Add extras", "help": "", "fragments": [extra],
                                "preselected": True}))
    return factories.letter_template(customer_dictionary, standard_layout, [], body=body)


def url(name, *args):
    return reverse(f"wagtail_correspondence_letters:{name}", args=args)


def form_data(**overrides):
    data = {"customer_id": "C-1001", "channel": "print", "slot:note": "Hello from the agent",
            "optional:extras": "on", "idempotency_key": "form-1"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_chooser_lists_published_templates_only(client, agent, template, customer_dictionary, standard_layout):
    factories.letter_template(customer_dictionary, standard_layout, [], title="Unpublished", publish=False,
                              body=factories.template_body())
    client.force_login(agent)
    html = client.get(url("add")).content.decode()
    assert "Payment reminder" in html and "Unpublished" not in html
    assert "Payment reminder" in client.get(url("add") + "?q=remind").content.decode()
    assert "Payment reminder" not in client.get(url("add") + "?q=zzz").content.decode()


def test_builder_form_has_data_slot_and_option_fields(client, agent, template):
    client.force_login(agent)
    response = client.get(url("build", template.pk))
    html = response.content.decode()
    assert response.status_code == 200
    for name in ('name="field:customer.first_name"', 'name="field:customer.address.line1"', 'name="field:invoices"',
                 'name="slot:note"', 'name="optional:extras"', 'name="channel"', 'name="data_json"'):
        assert name in html, name
    assert "Default note" in html and "data-preview-url" in html


def test_live_preview_reflects_each_change(client, agent, template):
    client.force_login(agent)
    response = client.post(url("preview", template.pk), form_data())
    body = response.json()
    assert body["can_generate"] is True and body["missing"] == []
    assert "Dear Ada," in body["html"] and "Hello from the agent" in body["html"] and "Extra wording." in body["html"]
    changes = {"slot:note": "Changed <i>note</i>", "optional:extras": None, "field:customer.first_name": "Adaline"}
    changed = client.post(url("preview", template.pk), form_data(**changes)).json()
    assert "Changed &lt;i&gt;note&lt;/i&gt;" in changed["html"] and "Extra wording." not in changed["html"]
    assert "Dear Adaline," in changed["html"]
    missing = client.post(url("preview", template.pk), form_data(customer_id="", **{"slot:note": ""})).json()
    fields = {problem["field"] for problem in missing["missing"]}
    assert {"slots.note", "customer.first_name", "customer.address", "balance"} <= fields
    bad_json = client.post(url("preview", template.pk), form_data(data_json="{oops")).json()
    assert bad_json["missing"][0]["field"] == "data_json"


def test_generate_from_the_form_once_even_when_submitted_twice(client, agent, template):
    client.force_login(agent)
    response = client.post(url("build", template.pk), {**form_data(), "action": "generate"})
    letter = Letter.objects.get()
    assert response.status_code == 302 and response["Location"] == url("inspect", letter.pk)
    assert letter.status == LetterStatus.GENERATED and "Hello from the agent" in letter.html
    again = client.post(url("build", template.pk), {**form_data(), "action": "generate"})
    assert again["Location"] == url("inspect", letter.pk) and Letter.objects.count() == 1
    page = client.get(url("inspect", letter.pk)).content.decode()
    assert letter.reference in page and "greeting" in page and "Download PDF" in page
    pdf = client.get(url("pdf", letter.pk))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf["X-Frame-Options"] == "SAMEORIGIN"


def test_generate_with_problems_shows_them_and_saves_nothing(client, agent, template):
    client.force_login(agent)
    response = client.post(url("build", template.pk), {**form_data(**{"slot:note": ""}), "action": "generate"})
    assert response.status_code == 400
    assert "slots.note" in response.content.decode() and not Letter.objects.exists()


def test_draft_save_resume_and_permissions(client, agent, template, make_user):
    client.force_login(agent)
    response = client.post(url("build", template.pk), {**form_data(**{"field:balance": "12.34"}),
                                                       "action": "save_draft"})
    draft = Letter.objects.get()
    assert response["Location"] == url("edit", draft.pk) and draft.is_draft
    assert draft.data_overrides == {"balance": "12.34"}  # only what differs from the customer record
    resumed = client.get(url("edit", draft.pk)).content.decode()
    assert 'value="12.34"' in resumed and "Hello from the agent" in resumed and 'value="C-1001"' in resumed

    other = make_user("agent2", roles.AGENTS)
    client.force_login(other)
    # Another agent's draft is outside their scope: it does not exist for them.
    assert client.get(url("edit", draft.pk)).status_code == 404
    assert client.post(url("delete", draft.pk)).status_code == 404
    assert Letter.objects.filter(pk=draft.pk).exists()

    client.force_login(agent)
    client.post(url("edit", draft.pk), {**form_data(**{"field:balance": "12.34"}), "action": "generate"})
    draft.refresh_from_db()
    assert draft.is_generated and draft.data["balance"] == "12.34" and draft.data_overrides == {"balance": "12.34"}
    assert client.get(url("edit", draft.pk))["Location"] == url("inspect", draft.pk)


def test_letters_list_filters_and_roles(client, agent, template, make_user):
    client.force_login(agent)
    client.post(url("build", template.pk), {**form_data(), "action": "generate"})
    client.post(url("build", template.pk), {**form_data(idempotency_key="form-2"), "action": "save_draft"})
    client.get(url("index"))  # shows (and consumes) the success messages
    drafts = client.get(url("index") + "?status=draft").content.decode()
    generated = Letter.objects.get(status=LetterStatus.GENERATED)
    assert generated.reference not in drafts and "Draft" in drafts
    assert generated.reference in client.get(url("index")).content.decode()

    author = make_user("author", roles.CONTENT_AUTHORS)
    client.force_login(author)
    for name, args in (("index", ()), ("add", ()), ("build", (template.pk,)), ("inspect", (generated.pk,)),
                       ("pdf", (generated.pk,))):
        assert client.get(url(name, *args)).status_code in (302, 403), name
    assert client.post(url("preview", template.pk), form_data()).status_code in (302, 403)
    assert client.get(url("customer_search") + "?q=ada").status_code in (302, 403)

    auditor = make_user("auditor", roles.AUDITORS)
    client.force_login(auditor)
    assert client.get(url("inspect", generated.pk)).status_code == 200
    assert client.get(url("pdf", generated.pk)).status_code == 200
    assert client.get(url("build", template.pk)).status_code in (302, 403)


def test_customer_search_and_record_endpoints(client, agent):
    client.force_login(agent)
    results = client.get(url("customer_search") + "?q=peeters").json()["results"]
    assert results[0]["id"] == "C-1001"
    record = client.get(url("customer_record", "C-1001")).json()["record"]
    assert record == copy.deepcopy(factories.SAMPLE_DATA)
    assert client.get(url("customer_record", "NOPE")).status_code == 404


def test_letters_menu_is_shown_to_agents_only(client, agent, make_user):
    client.force_login(agent)
    assert "New letter" in client.get("/admin/").content.decode()
    client.force_login(make_user("author", roles.CONTENT_AUTHORS))
    assert "New letter" not in client.get("/admin/").content.decode()
