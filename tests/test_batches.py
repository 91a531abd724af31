"""Batches: CSV and JSON Lines in, a dry run that names every bad row and field, a run that
generates one letter per good row, and a resume after a crash that generates nothing twice."""

import copy

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from wagtail_correspondence import roles
from wagtail_correspondence.models import BatchRowStatus, BatchStatus, Letter, LetterBatch
from wagtail_correspondence.services import batches

from . import factories


@pytest.fixture(autouse=True)
def three_customers(customers):
    records = []
    for number, (first, email) in enumerate([("Ada", "ada@example.org"), ("Bo", "bo@example.org"),
                                             ("Cy", "cy@example.org")], start=1):
        record = copy.deepcopy(factories.SAMPLE_DATA)
        record["customer"].update(id=f"C-{number}", first_name=first, full_name=f"{first} Peeters", email=email)
        records.append(record)
    customers(*records)


@pytest.fixture
def template(customer_dictionary, standard_layout):
    fragment = factories.fragment(customer_dictionary, key="reminder",
                                  html="<p>Dear {{ customer.first_name }}, you owe {{ balance|money }}.</p>")
    body = factories.template_body(
        ("fragment", fragment),
        ("agent_slot", {"name": "note", "label": "Note", "help": "", "required": False, "max_length": 20,
                        "default_text": ""}))
    return factories.letter_template(customer_dictionary, standard_layout, [], body=body)


CSV = (
    "\ufeffcustomer_id;balance;slot.note;customer.address.city;channel\n"
    "C-1;10.00;Thanks;;print\n"
    "C-2;abc;;;email\n"                     # row 2: balance is not an amount
    "C-3;;This note is far too long for the slot;;\n"  # row 3: slot too long
    "C-9;1.00;;;\n"                          # row 4: unknown customer
    "C-1;20.00;;Ghent;email\n"
)


def upload(name, content):
    return SimpleUploadedFile(name, content.encode("utf-8") if isinstance(content, str) else content)


def make_batch(agent, template, capture, name="reminders.csv", content=CSV, **kwargs):
    with capture(execute=True):
        return batches.create_batch(agent, template, upload(name, content), **kwargs)


def test_csv_columns_become_data_slots_and_channels():
    rows = dict(batches.parse_csv(
        'customer_id,balance,customer.address.city,invoices,slot.note,channel\n'
        'C-1,12.50,Ghent,"[{""number"": ""I-1"", ""amount"": ""12.50""}]",Hello,email\n'
        'C-2,,,,,\n'.encode()))
    assert rows[1] == {"customer_id": "C-1", "channel": "email", "slots": {"note": "Hello"}, "errors": [],
                       "data": {"balance": "12.50", "customer": {"address": {"city": "Ghent"}},
                                "invoices": [{"number": "I-1", "amount": "12.50"}]}}
    assert rows[2]["data"] == {} and rows[2]["customer_id"] == "C-2"  # empty cells keep the record's values
    broken = dict(batches.parse_csv(b'customer_id,invoices\nC-1,"[oops"\n'))
    assert broken[1]["errors"][0]["field"] == "invoices"


def test_jsonl_rows_and_their_errors():
    rows = dict(batches.parse_jsonl(b'{"customer_id": "C-1", "slots": {"note": "x"}}\n\n'
                                    b'not json\n[1, 2]\n{"customer_id": "C-2", "extra": 1}\n'))
    assert rows[1]["customer_id"] == "C-1" and rows[1]["errors"] == []
    assert "Not valid JSON" in rows[2]["errors"][0]["message"]
    assert rows[3]["errors"][0]["message"] == "Each line must be a JSON object."
    assert rows[4]["errors"][0]["field"] == "extra"


def test_dry_run_reports_rows_fields_and_channels(agent, template, django_capture_on_commit_callbacks):
    batch = make_batch(agent, template, django_capture_on_commit_callbacks)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CHECKED and batch.total_rows == 5 and batch.source_format == "csv"
    report = batch.report
    assert (report["rows"], report["valid"], report["errors"]) == (5, 2, 3)
    errors = {(item["row"], item["field"]) for item in report["error_rows"]}
    assert errors == {(2, "balance"), (3, "slots.note"), (4, "customer_id")}
    assert report["channels"] == {"print": 1, "email": 1}
    assert not Letter.objects.exists()  # a dry run generates nothing
    assert [row.status for row in batch.rows.order_by("row_number")] == [
        "valid", "error", "error", "error", "valid"]


def test_run_generates_good_rows_and_reports_bad_ones(agent, template, django_capture_on_commit_callbacks):
    batch = make_batch(agent, template, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        batches.start_batch(agent, batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED and batch.finished_at
    assert batch.progress() == {"total": 5, "generated": 2, "errors": 3, "checked": 5, "pending": 0,
                                "percent": 100.0}
    first, last = batch.rows.get(row_number=1).letter, batch.rows.get(row_number=5).letter
    assert "Dear Ada, you owe €10.00." in first.html and "Thanks" in first.html and first.channels == ["print"]
    assert "€20.00" in last.html and last.data["customer"]["address"]["city"] == "Ghent"
    assert last.data["customer"]["address"]["line1"] == "Rue de la Loi 16"  # the rest from the record
    assert Letter.objects.count() == 2


def test_resume_after_a_crash_generates_nothing_twice(agent, template, monkeypatch, settings,
                                                      django_capture_on_commit_callbacks):
    """Chunks of 3 rows: the worker dies inside the second chunk's write transaction. The
    first chunk stays, the second goes with its transaction, and the rerun redoes it with
    the numbers it had reserved: no letter twice, no number lost."""
    from wagtail_correspondence.models import VoidReference
    from wagtail_correspondence.services import register_links

    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "BACKGROUND": {"CHUNK_ROWS": 3}}
    content = "customer_id,balance\n" + "".join(f"C-{1 + n % 3},{n}.00\n" for n in range(1, 9))
    batch = make_batch(agent, template, django_capture_on_commit_callbacks, content=content)
    batches.start_batch(agent, batch)  # no worker: the test runs it
    real_register = register_links.register_letters
    calls = []

    def dies_in_the_second(*args, **kwargs):
        calls.append(1)
        entries = real_register(*args, **kwargs)
        if len(calls) == 2:
            raise SystemExit("worker killed inside the second chunk's write")
        return entries

    monkeypatch.setattr(register_links, "register_letters", dies_in_the_second)
    with pytest.raises(SystemExit):
        batches.run_batch(batch.pk)
    assert Letter.objects.count() == 3  # the second chunk's letters went with its transaction
    assert batch.rows.filter(status=BatchRowStatus.GENERATED).count() == 3

    monkeypatch.setattr(register_links, "register_letters", real_register)
    assert batches.run_batch(batch.pk) == 5
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED
    assert Letter.objects.count() == 8 == batch.rows.filter(status=BatchRowStatus.GENERATED).count()
    references = list(Letter.objects.values_list("reference", flat=True))
    assert len(set(references)) == 8
    assert sorted(int(reference[-6:]) for reference in references) == list(range(1, 9))  # no gap either
    assert not VoidReference.objects.exists()
    assert batches.run_batch(batch.pk) == 0


def test_only_checked_batches_start_and_cancel_stops_them(agent, template, make_user,
                                                          django_capture_on_commit_callbacks):
    batch = make_batch(agent, template, django_capture_on_commit_callbacks)
    with pytest.raises(PermissionDenied):
        batches.start_batch(make_user("agent2", roles.AGENTS), batch)
    batches.start_batch(agent, batch)
    with pytest.raises(ValueError):
        batches.start_batch(agent, batch)
    batches.cancel_batch(agent, batch)
    assert batches.run_batch(batch.pk) == 0 and not Letter.objects.exists()
    assert LetterBatch.objects.get(pk=batch.pk).status == BatchStatus.CANCELLED


def test_files_that_cannot_be_a_batch(agent, template, customer_dictionary, standard_layout):
    with pytest.raises(batches.BatchFileError, match="csv or .jsonl"):
        batches.create_batch(agent, template, upload("letters.xlsx", "x"))
    with pytest.raises(batches.BatchFileError, match="no rows"):
        batches.create_batch(agent, template, upload("empty.csv", "customer_id\n"))
    with pytest.raises(batches.BatchFileError, match="UTF-8"):
        batches.create_batch(agent, template, upload("latin.csv", "customer_id\nC-\xe9\n".encode("latin-1")))
    draft = factories.letter_template(customer_dictionary, standard_layout, [], title="Draft", publish=False,
                                      body=factories.template_body())
    with pytest.raises(batches.BatchFileError, match="published"):
        batches.create_batch(agent, draft, upload("a.csv", CSV))


def test_batches_through_the_api_and_the_admin(client, agent, template, django_capture_on_commit_callbacks):
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/correspondence/v1/batches/", {
            "template": template.pk, "file": upload("reminders.csv", CSV), "name": "November reminders"})
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "checking"  # checked in the background
    body = client.get(f"/api/correspondence/v1/batches/{response.json()['id']}/").json()
    assert body["status"] == "checked" and body["report"]["valid"] == 2 and body["name"] == "November reminders"
    assert {(item["row"], item["field"]) for item in body["report"]["error_rows"]} == {
        (2, "balance"), (3, "slots.note"), (4, "customer_id")}
    batch = LetterBatch.objects.get(uuid=body["id"])
    page = client.get(f"/admin/correspondence/letters/batches/{batch.pk}/").content.decode()
    assert "Generate 2 letters" in page and "slots.note" in page
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"/api/correspondence/v1/batches/{body['id']}/start/")
    assert started.status_code == 200
    progress = client.get(f"/api/correspondence/v1/batches/{body['id']}/").json()
    assert progress["status"] == "completed" and progress["progress"]["generated"] == 2
    assert progress["progress"]["percent"] == 100.0
    admin_progress = client.get(f"/admin/correspondence/letters/batches/{batch.pk}/progress/").json()
    assert admin_progress["generated"] == 2 and admin_progress["status"] == "completed"
    again = client.post(f"/api/correspondence/v1/batches/{body['id']}/start/")
    assert again.status_code == 409
    bad = client.post("/api/correspondence/v1/batches/", {"template": template.pk, "file": upload("x.pdf", "x")})
    assert bad.status_code == 400 and "file" in bad.json()


def test_batch_upload_in_the_admin(client, agent, template, django_capture_on_commit_callbacks):
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/correspondence/letters/batches/new/", {
            "template": template.pk, "name": "", "channel": "email",
            "file": upload("reminders.jsonl", '{"customer_id": "C-1"}\n{"customer_id": "C-2"}\n')})
    batch = LetterBatch.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/batches/{batch.pk}/")
    assert batch.status == BatchStatus.CHECKED and batch.report["channels"] == {"email": 2}
    assert "Batches" in client.get("/admin/").content.decode()
