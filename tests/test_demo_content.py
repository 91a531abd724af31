"""The demo command: refused without DEBUG, idempotent, and its content is valid and live."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings
from wagtail.models import WorkflowState

from wagtail_correspondence import roles
from wagtail_correspondence.models import DataDictionary, Department, Fragment, LetterTemplatePage
from wagtail_correspondence.conf import get_setting
from wagtail_correspondence.rendering.budget import letter_budget
from wagtail_correspondence.rendering.assembly import render_template_preview

CUSTOMERS = Path(__file__).resolve().parent.parent / "site" / "demo_data" / "customers.json"


def counts():
    return (get_user_model().objects.count(), Fragment.objects.count(), LetterTemplatePage.objects.count(),
            Department.objects.count(), DataDictionary.objects.count(), WorkflowState.objects.count())


def test_refused_when_debug_is_off(db):
    with override_settings(DEBUG=False), pytest.raises(CommandError, match="only runs with DEBUG on"):
        call_command("correspondence_demo")
    assert get_user_model().objects.count() == 0


@pytest.fixture
def demo(db):
    with override_settings(DEBUG=True):
        call_command("correspondence_demo", "--without-register", stdout=open("/dev/null", "w"))


def test_users_have_roles_and_the_demo_password(demo):
    expected = {"author": roles.CONTENT_AUTHORS, "reviewer": roles.CONTENT_REVIEWERS, "agent": roles.AGENTS,
                "officer": roles.OFFICERS, "supervisor": roles.SUPERVISORS, "auditor": roles.AUDITORS,
                "admin": roles.ADMINISTRATORS}
    for username, role in expected.items():
        user = authenticate(username=username, password="correspondence-demo")
        assert user is not None, username
        assert list(user.groups.values_list("name", flat=True)) == [role]
    assert get_user_model().objects.get(username="admin").is_superuser
    assert not get_user_model().objects.get(username="author").is_superuser


def test_content_is_live_valid_and_renders_with_every_sample(demo):
    usable = [fragment for fragment in Fragment.objects.all() if fragment.is_usable]
    assert len(usable) >= 12
    for fragment in usable:
        fragment.live_object().full_clean()
    dictionary = DataDictionary.objects.get(name="Customer")
    samples = list(dictionary.sample_data_sets.all())
    assert len(samples) == 3
    titles = {}
    for page in LetterTemplatePage.objects.live().select_related("locale"):
        titles.setdefault(page.locale.language_code, set()).add(page.title)
        assert page.check_content() == [], page.title
        for sample in samples:
            html = str(render_template_preview(page, sample.data))
            assert sample.data["customer"]["full_name"] in html
            assert "Northwind Mutual" in html
    assert titles == {"en": {"Payment reminder", "Complaint acknowledgement", "Policy renewal", "Claim update"},
                      "fr": {"Rappel de paiement", "Accusé de réception de plainte", "Renouvellement du contrat",
                             "Suivi du sinistre"},
                      "nl": {"Betalingsherinnering", "Ontvangstbevestiging klacht", "Verlenging van de polis",
                             "Stand van uw schadedossier"}}


def test_letters_use_a_small_part_of_the_render_budget(demo):
    """The budget leaves real letters a wide margin: each demo letter, with each sample, uses
    under a two-hundredth of a letter's work and of its text (units are counted, not timed)."""
    limits = get_setting("RENDER_BUDGET")
    samples = list(DataDictionary.objects.get(name="Customer").sample_data_sets.all())
    for page in LetterTemplatePage.objects.live():
        for sample in samples:
            with letter_budget() as budget:
                render_template_preview(page, sample.data)
            assert budget.used * 200 < limits["WORK_PER_LETTER"], (page.title, sample.name, budget.used)
            assert budget.output * 200 < limits["OUTPUT_PER_LETTER"], (page.title, sample.name, budget.output)


def test_one_fragment_waits_in_review(demo):
    in_review = [fragment for fragment in Fragment.objects.all() if fragment.workflow_in_progress]
    assert [fragment.key for fragment in in_review] == ["payment-methods"]
    pending = in_review[0]
    assert "direct debit" in pending.latest_revision.as_object().body[0].value.source
    assert "direct debit" not in pending.live_revision.as_object().body[0].value.source


def test_running_twice_changes_nothing(demo):
    before = counts()
    with override_settings(DEBUG=True):
        call_command("correspondence_demo", "--without-register", stdout=open("/dev/null", "w"))
    assert counts() == before  # the register part's idempotency: tests/test_demo_register.py


def test_every_demo_customer_matches_the_dictionary(demo):
    records = json.loads(CUSTOMERS.read_text(encoding="utf-8"))
    assert len(records) >= 20
    dictionary = DataDictionary.objects.get(name="Customer")
    for record in records:
        assert dictionary.validate_payload(record) == [], record["customer"]["id"]
    assert {record["customer"]["preferred_channel"] for record in records} == {"email", "print", "sms", "portal"}


def test_demo_customers_have_fitting_titles_and_sorted_invoices():
    records = {record["customer"]["id"]: record for record in json.loads(CUSTOMERS.read_text(encoding="utf-8"))}
    titles = {record["customer"]["first_name"]: record["customer"]["title"] for record in records.values()}
    assert titles["Chloé"] == "Ms" and titles["Bram"] == "Mr" and titles["Hugo"] == "Mr" and titles["Thomas"] == "Mr"
    assert set(titles.values()) <= {"Mr", "Ms", "Dr"}
    for customer_id, record in records.items():
        due = [invoice["due_date"] for invoice in record["invoices"]]
        assert due == sorted(due), customer_id  # the letters' invoice tables list them by date


def test_agent_can_build_every_demo_template_for_every_demo_customer(demo):
    from wagtail_correspondence.services import letters as service

    agent = get_user_model().objects.get(username="agent")
    records = json.loads(CUSTOMERS.read_text(encoding="utf-8"))
    slots = {"complaint-acknowledgement": {"case_summary": "The claim took too long."}}
    # The acknowledgement answers a register entry: without one, its data comes by hand.
    data = {"complaint-acknowledgement": {"in_reply_to": {"reference": "IN-2026-000001", "date": "2026-12-03",
                                                          "subject": "Late claim"}}}
    for page in service.available_templates():
        for record in records:
            customer_id = record["customer"]["id"]
            letter = service.preview_letter(agent, service.LetterRequest(
                template=page, customer_id=customer_id, slots=slots.get(page.slug, {}),
                data=data.get(page.slug)))
            refused = []
            if page.slug == "payment-reminder" and Decimal(record["balance"]) <= 0:
                # The payment reminder's own rule: no reminder to a customer who owes nothing.
                refused = [("balance", "rule")]
            if page.slug == "claim-update" and record["customer"]["language"] == "fr":
                # The demo's out-of-date translation: the French expert-visit step.
                refused = [("language", "content")]
            assert [(problem.field, problem.kind) for problem in letter.problems] == refused, (
                page.slug, customer_id, letter.problems)
            assert record["customer"]["full_name"] in letter.html
    # One of them all the way to a PDF.
    generated = service.generate_letter(agent, service.LetterRequest(
        template=service.available_templates().get(slug="payment-reminder"), customer_id="C-1004"))
    assert generated.pdf_pages >= 1 and generated.reference.startswith("OUT-")


def test_the_agent_writes_to_each_customer_in_their_language_without_choosing_it(demo):
    """The demo's customers speak Dutch, French, English or German; its content exists in the
    first three. A letter takes the customer's language, else the template's."""
    from wagtail_correspondence.services import letters as service

    agent = get_user_model().objects.get(username="agent")
    templates = {page.slug: page for page in service.available_templates()}
    expected = [("payment-reminder", "C-1002", "nl", "Geachte heer, mevrouw Janssens", "Betalingsherinnering — "),
                ("payment-reminder", "C-1004", "fr", "Chère Madame, cher Monsieur Maes", "Rappel de paiement — "),
                ("policy-renewal", "C-1017", "en", "Dear Dr Simon", "Renewal of policy "),
                ("payment-reminder", "C-1007", "en", "Dear Ms Vermeulen", "Payment reminder — ")]  # German: none
    for slug, customer_id, language, greeting, subject in expected:
        letter = service.generate_letter(agent, service.LetterRequest(template=templates[slug],
                                                                      customer_id=customer_id))
        assert letter.language == language and letter.subject.startswith(subject), (customer_id, letter.subject)
        assert greeting in letter.html and letter.language_fallbacks == [], customer_id
        assert f'lang="{language}"' in letter.html


def test_the_demo_batch_file_flags_its_bad_rows_and_runs(demo, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from wagtail_correspondence.models import BatchStatus, LetterBatch
    from wagtail_correspondence.services import batches

    agent = get_user_model().objects.get(username="agent")
    path = CUSTOMERS.parent / "batch-1000.csv"
    with django_capture_on_commit_callbacks(execute=True):
        batch = batches.create_batch(agent, LetterTemplatePage.objects.get(slug="payment-reminder", locale__language_code="en"),
                                     SimpleUploadedFile(path.name, path.read_bytes()))
    batch = LetterBatch.objects.get(pk=batch.pk)
    assert batch.status == BatchStatus.CHECKED
    # 13 rows ask for payment by a day before the letter's date (the dictionary's rule), 8 for
    # nothing (the payment reminder's rule); SMS rows go to print, as the dry run says why.
    assert (batch.report["rows"], batch.report["valid"], batch.report["errors"]) == (1000, 979, 21)
    flagged = {(item["field"], item["kind"]) for item in batch.report["error_rows"]}
    assert flagged == {("due_date", "rule"), ("balance", "rule")}
    assert sum(batch.report["channels"].values()) == 979 and "sms" not in batch.report["channels"]
    assert any(route["requested"] == "sms" and route["channel"] == "print"
               and route["reason"] == "no SMS backend configured" for route in batch.report["routes"])
    batches.start_batch(agent, batch)
    assert batches.run_batch(batch.pk, limit=3) == 3
    assert batch.progress()["generated"] == 3
