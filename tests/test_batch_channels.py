"""A batch's dry run shows the channel each row really takes and why, decided by the outbox's
own ``route_channel``: the dispatches made when the batch runs take exactly those channels.
After the run the batch page links to its letters, a formula-safe CSV of every row's result
and its print run; the CSV and the API's rows stay within the batch's scope."""

import copy
import csv
import datetime
import io
from collections import Counter

import pytest
from django.utils import timezone
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.delivery.base import ARCHIVE
from wagtail_correspondence.models import BatchLease, Dispatch, Letter, LetterBatch
from wagtail_correspondence.services import batches
from wagtail_correspondence.services import letters as letter_service
from wagtail_correspondence.services.dispatch import deliverable_channels, letter_routes
from wagtail_correspondence.services.printing import build_print_run

from . import factories
from .test_batches import make_batch


def record(number, first, preferred, email="x@example.org"):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"].update(id=f"C-{number}", first_name=first, full_name=f"{first} Peeters", email=email,
                            preferred_channel=preferred)
    return data


@pytest.fixture(autouse=True)
def four_customers(customers):
    customers(record(1, "Ada", "email", "ada@example.org"),
              record(2, "Bo", "email", email=""),   # prefers email, has no address
              record(3, "Cy", "sms"),                 # prefers SMS: no SMS backend in this site
              record(4, "Di", "print"))


@pytest.fixture
def template(customer_dictionary, standard_layout):
    fragment = factories.fragment(customer_dictionary, key="reminder",
                                  html="<p>Dear {{ customer.first_name }}, you owe {{ balance|money }}.</p>")
    return factories.letter_template(customer_dictionary, standard_layout, [fragment],
                                     channels=["print", "email", "sms"], fallback_channel="print",
                                     sms_text="You owe {{ balance|money }}")


@pytest.fixture
def no_fallback(customer_dictionary, standard_layout):
    fragment = factories.fragment(customer_dictionary, key="note", html="<p>Dear {{ customer.first_name }}.</p>")
    return factories.letter_template(customer_dictionary, standard_layout, [fragment], title="Notice",
                                     channels=["email", "sms", "print"], sms_text="Hello")


CSV = ("customer_id,balance,channel\n"
       "C-1,10.00,\n"       # row 1: email, as the customer prefers
       "C-2,10.00,\n"       # row 2: email without an address → print
       "C-3,10.00,\n"       # row 3: SMS without a backend → print
       "C-4,10.00,\n"       # row 4: print
       "C-1,10.00,sms\n"    # row 5: the row asks for SMS → print
       '"=HYPERLINK(""http://evil.example"")",1.00,\n')  # row 6: no such customer, a formula as its id


def routes_by_row(batch):
    return {row.row_number: row.route for row in batch.rows.order_by("row_number")}


def test_the_dry_run_shows_each_rows_real_channel_and_why(agent, template, django_capture_on_commit_callbacks):
    batch = make_batch(agent, template, django_capture_on_commit_callbacks, content=CSV)
    batch.refresh_from_db()
    routes = routes_by_row(batch)
    seen = {number: (route["requested"], route["channel"], route["reason"], route["source"])
            for number, route in routes.items() if route}
    assert seen == {
        1: ("email", "email", "", "the customer's preferred channel"),
        2: ("email", "print", "no email address (customer.email)", "the customer's preferred channel"),
        3: ("sms", "print", "no SMS backend configured", "the customer's preferred channel"),
        4: ("print", "print", "", "the customer's preferred channel"),
        5: ("sms", "print", "no SMS backend configured", "the row's own channel"),
    }
    report = batch.report
    assert report["channels"] == {"print": 4, "email": 1}  # not the 2 SMS the rows asked for
    totals = Counter()
    for item in report["routes"]:  # grouped by why the rows asked for their channel, too
        totals[(item["requested"], item["channel"], item["reason"])] += item["rows"]
    assert totals == {("sms", "print", "no SMS backend configured"): 2, ("email", "email", ""): 1,
                      ("email", "print", "no email address (customer.email)"): 1, ("print", "print", ""): 1}
    assert report["rerouted"] == 3 and [item["row"] for item in report["rerouted_rows"]] == [2, 3, 5]


def test_the_dispatches_take_the_channels_the_dry_run_showed(agent, template, no_fallback,
                                                             django_capture_on_commit_callbacks):
    for page in (template, no_fallback):
        batch = make_batch(agent, page, django_capture_on_commit_callbacks, content=CSV)
        with django_capture_on_commit_callbacks(execute=True):
            batches.start_batch(agent, batch)
        batch.refresh_from_db()
        for row in batch.rows.exclude(letter=None).select_related("letter"):
            taken = set(row.letter.dispatches.exclude(channel=ARCHIVE).values_list("channel", flat=True))
            assert taken == ({row.route["channel"]} if row.route["channel"] else set()), (page.title, row.row_number)
            assert [route.as_dict() for route in letter_routes(row.letter)] == [
                {key: value for key, value in row.route.items() if key != "source"}]
    # Without a fallback: email without an address stays email and will fail; SMS is only archived.
    routes = routes_by_row(LetterBatch.objects.get(template=no_fallback))
    assert (routes[2]["channel"], routes[2]["delivered"]) == ("email", False)
    assert "no fallback channel: delivery will fail" in routes[2]["reason"]
    assert (routes[3]["channel"], routes[3]["delivered"]) == ("", False)
    assert "the letter is only archived" in routes[3]["reason"]


def test_a_single_letter_goes_the_same_way(agent, template, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        letter = letter_service.generate_letter(agent, letter_service.LetterRequest(template=template,
                                                                                    customer_id="C-2"))
    assert letter.channels == ["email"] and deliverable_channels(letter) == ["print", ARCHIVE]
    assert sorted(letter.dispatches.values_list("channel", flat=True)) == [ARCHIVE, "print"]
    logged = ModelLogEntry.objects.get(action=log_actions.LETTER_DISPATCH_FALLBACK, object_id=str(letter.pk))
    assert logged.data["instead_of"] == "email" and logged.data["reason"] == "no email address (customer.email)"


def test_the_finished_batch_links_its_letters_results_and_print_run(client, agent, template, make_user,
                                                                    django_capture_on_commit_callbacks):
    batch = make_batch(agent, template, django_capture_on_commit_callbacks, content=CSV)
    with django_capture_on_commit_callbacks(execute=True):
        batches.start_batch(agent, batch)
        other = letter_service.generate_letter(agent, letter_service.LetterRequest(template=template,
                                                                                   customer_id="C-4"))
    run = build_print_run(user=agent)
    client.force_login(agent)
    page = client.get(f"/admin/correspondence/letters/batches/{batch.pk}/").content.decode()
    assert "SMS → Print: no SMS backend configured" in page
    assert "Email → Print: no email address (customer.email)" in page
    assert f"/admin/correspondence/letters/?batch={batch.pk}" in page
    assert f"/admin/correspondence/letters/batches/{batch.pk}/results.csv" in page
    # The run took every letter waiting: the batch's four for print, and one from elsewhere.
    assert run.letter_count == 5 and f"4 letters of this batch (5 letters, {run.page_count} pages in the run)" in page
    # The run's own page holds every department's letters: linked for those who may open it.
    assert f'href="/admin/correspondence/letters/print-runs/{run.pk}/"' not in page
    client.force_login(make_user("supervisor", roles.SUPERVISORS))
    assert f'href="/admin/correspondence/letters/print-runs/{run.pk}/"' in client.get(
        f"/admin/correspondence/letters/batches/{batch.pk}/").content.decode()
    client.force_login(agent)

    listed = client.get(f"/admin/correspondence/letters/?batch={batch.pk}").content.decode()
    references = list(Letter.objects.filter(batch_row__batch=batch).values_list("reference", flat=True))
    assert len(references) == 5 and all(reference in listed for reference in references)
    assert other.reference not in listed

    response = client.get(f"/admin/correspondence/letters/batches/{batch.pk}/results.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["row"] for row in rows] == ["1", "2", "3", "4", "5", "6"]
    by_row = {row["row"]: row for row in rows}
    assert by_row["3"]["requested_channel"] == "SMS" and by_row["3"]["channel"] == "Print"
    assert by_row["3"]["channel_reason"] == "no SMS backend configured"
    # The run's time as the screens show it: in the site's time zone.
    assert by_row["3"]["delivery"] == "Sent"
    assert by_row["3"]["print_run"] == f"{timezone.localtime(run.created_at):%Y-%m-%d %H:%M}"
    assert by_row["1"]["channel"] == "Email" and by_row["1"]["reference"].startswith("OUT-")
    assert by_row["6"]["status"] == "Error" and "customer_id" in by_row["6"]["errors"]
    # A formula in the file comes back as text, quoted: no spreadsheet evaluates it.
    assert by_row["6"]["customer_id"] == "'=HYPERLINK(\"http://evil.example\")"
    assert '"\'=HYPERLINK(""http://evil.example"")"' in text

    api = client.get(f"/api/correspondence/v1/batches/{batch.uuid}/rows/?limit=2&offset=2").json()
    assert api["count"] == 6 and [item["row"] for item in api["results"]] == [3, 4]
    assert api["results"][0]["channel_reason"] == "no SMS backend configured"
    assert client.get(f"/api/correspondence/v1/batches/{batch.uuid}/rows/?limit=0").status_code == 400

    # Another department's agent: no batch, no results, no rows.
    client.force_login(make_user("other-agent", roles.AGENTS))
    assert client.get(f"/admin/correspondence/letters/batches/{batch.pk}/results.csv").status_code == 404
    assert client.get(f"/api/correspondence/v1/batches/{batch.uuid}/rows/").status_code == 404
    assert client.get(f"/admin/correspondence/letters/batches/{batch.pk}/").status_code == 404


def test_progress_is_worded_and_the_worker_is_a_state_not_an_id(
        client, agent, template, django_capture_on_commit_callbacks):
    batch = make_batch(agent, template, django_capture_on_commit_callbacks, content=CSV)
    assert not Dispatch.objects.exists()  # a dry run dispatches nothing
    client.force_login(agent)
    body = client.get(f"/admin/correspondence/letters/batches/{batch.pk}/progress/").json()
    assert body["text"] == "0 generated, 1 with errors, of 6 rows (16.7%)"
    LetterBatch.objects.filter(pk=batch.pk).update(status="checking")
    body = client.get(f"/admin/correspondence/letters/batches/{batch.pk}/progress/").json()
    assert body["text"] == "Dry run: 6 of 6 rows checked (100.0%)"

    # Running, its worker gone quiet an hour ago: a stalled batch, said in words.
    LetterBatch.objects.filter(pk=batch.pk).update(status="running")
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    BatchLease.objects.update_or_create(batch=batch, defaults={
        "worker_id": "worker-host:4242:5f1c9e", "task_id": "", "renewed_at": an_hour_ago,
        "expires_at": an_hour_ago + datetime.timedelta(minutes=2)})
    page = client.get(f"/admin/correspondence/letters/batches/{batch.pk}/").content.decode()
    assert "Stalled since" in page and "no progress for 1" in page and "data-resume-batch" in page
    assert "worker-host" not in page and "5f1c9e" not in page
    assert "Stalled since" in client.get(f"/admin/correspondence/letters/batches/{batch.pk}/progress/").json()[
        "worker_text"]
