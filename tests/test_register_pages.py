"""Pages of the register at any size: the API's keyset (cursor) pages walk every entry the user
may see exactly once, in the list's order, however many share a registration time; counts are
exact up to ``EXACT_COUNT_LIMIT`` and "more than" beyond, in the API and in the admin list;
numbered pages still work for clients written for them."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from wagtail_correspondence import roles
from wagtail_correspondence.models import Confidentiality, Correspondence, Direction

API = "/api/correspondence/v1/correspondence/"
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.timezone.utc)


# The department tree and officer of conftest, under this module's shorter names.
org = pytest.fixture(name="org")(lambda billing_and_claims: billing_and_claims)
officer = pytest.fixture(name="officer")(lambda billing_officer: billing_officer)


@pytest.fixture
def people(officer, make_user):
    return {"officer": officer, "sue": make_user("sue", roles.SUPERVISORS)}


@pytest.fixture
def entries(org, people):
    """31 billing entries (seven registered at the same instant), 9 claims entries, 2 strictly
    confidential billing entries, and one claims entry the officer registered."""
    rows = []
    for number in range(31):
        # 7 ties at START + 10 min: a keyset on the time alone would skip or repeat them.
        at = START + datetime.timedelta(minutes=10 if 10 <= number < 17 else number)
        rows.append(Correspondence(reference=f"B-{number:03}", subject=f"Billing {number}", registered_at=at,
                                   direction=Direction.INBOUND, department=org["billing"]))
    for number in range(9):
        rows.append(Correspondence(reference=f"C-{number:03}", subject=f"Claim {number}", direction=Direction.INBOUND,
                                   registered_at=START + datetime.timedelta(minutes=number, seconds=30),
                                   department=org["claims"]))
    for number in range(2):
        rows.append(Correspondence(reference=f"S-{number:03}", subject="Secret", direction=Direction.INBOUND,
                                   registered_at=START + datetime.timedelta(minutes=5, seconds=number),
                                   department=org["billing"], confidentiality=Confidentiality.SECRET))
    rows.append(Correspondence(reference="C-MINE", subject="Registered by the officer", direction=Direction.INBOUND,
                               registered_at=START + datetime.timedelta(hours=2), department=org["claims"],
                               created_by=people["officer"]))
    Correspondence.objects.bulk_create(rows)
    return rows


def in_list_order(queryset):
    return list(queryset.order_by("-registered_at", "-pk").values_list("reference", flat=True))


def walk(client, url):
    """Follow ``next`` links from ``url``; return the references in order and the pages."""
    seen, pages = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        page = response.json()
        pages.append(page)
        seen += [item["reference"] for item in page["results"]]
        url = page["next"]
        assert len(pages) < 100
    return seen, pages


@pytest.mark.parametrize("who", ["officer", "sue"])
def test_cursor_pages_walk_every_visible_entry_once_in_order(client, people, entries, who):
    from wagtail_correspondence.services.register_access import visible_entries

    client.force_login(people[who])
    expected = in_list_order(visible_entries(people[who]))
    assert len(expected) == (32 if who == "officer" else 43)  # billing (not secret) + the officer's own
    seen, pages = walk(client, f"{API}?limit=4")
    assert seen == expected
    assert all(page["count"] == len(expected) for page in pages)
    assert all("cursor=" in page["next"] for page in pages[:-1]) and pages[-1]["next"] is None
    # And back: the previous links of the last page lead to the first, in the same order.
    backwards, url = [], pages[-1]["previous"]
    while url:
        page = client.get(url).json()
        backwards = [item["reference"] for item in page["results"]] + backwards
        url = page["previous"]
    assert backwards + [item["reference"] for item in pages[-1]["results"]] == expected


def test_cursor_pages_keep_filters_and_search(client, people, entries):
    client.force_login(people["sue"])
    seen, pages = walk(client, f"{API}?limit=2&department=claims")
    assert seen == in_list_order(Correspondence.objects.filter(department__code="claims"))
    assert pages[0]["count"] == 10
    seen, _ = walk(client, f"{API}?limit=2&q=Claim")
    assert seen == in_list_order(Correspondence.objects.filter(subject__startswith="Claim"))


def test_a_tampered_cursor_is_refused_and_reveals_nothing(client, people, entries):
    client.force_login(people["officer"])
    assert client.get(f"{API}?cursor=not-a-cursor").status_code == 404
    # Well formed, with a position that is no date ("p=2026"): refused the same way.
    made_up = client.get(API, {"cursor": "cD0yMDI2"})
    assert made_up.status_code == 404 and made_up.json() == {"detail": "Invalid cursor"}
    # A cursor made for the supervisor's list still only pages through the officer's scope.
    client.force_login(people["sue"])
    cursor = parse_qs(urlsplit(client.get(f"{API}?limit=3").json()["next"]).query)["cursor"][0]
    client.force_login(people["officer"])
    seen, _ = walk(client, f"{API}?limit=50&cursor={cursor}")
    assert set(seen) <= set(in_list_order(Correspondence.objects.filter(department__code="billing").exclude(
        confidentiality=Confidentiality.SECRET))) | {"C-MINE"}


def test_counts_stop_at_the_limit(client, people, entries, settings):
    settings.WAGTAIL_CORRESPONDENCE = {**getattr(settings, "WAGTAIL_CORRESPONDENCE", {}),
                                       "REGISTER": {"EXACT_COUNT_LIMIT": 20}}
    client.force_login(people["sue"])
    page = client.get(f"{API}?limit=5").json()
    assert page["count"] is None and page["count_limit"] == 20  # 43 entries: more than 20
    seen, pages = walk(client, f"{API}?limit=5")
    assert len(seen) == 43 and len(set(seen)) == 43
    claims = client.get(f"{API}?department=claims").json()
    assert claims["count"] == 10 and claims["count_limit"] == 20

    # Numbered pages reach the limit; their next link then goes on as a cursor link, through
    # to the last entry. An offset beyond the limit is refused, naming the parameter.
    numbered, url, offsets = [], f"{API}?limit=10&offset=0", []
    while url:
        page = client.get(url).json()
        assert page["count"] is None
        numbered += [item["reference"] for item in page["results"]]
        if "offset=" in url:
            offsets.append(parse_qs(urlsplit(url).query)["offset"][0])
        url = page["next"]
    assert offsets == ["0", "10", "20"]  # then cursor links
    assert numbered == in_list_order(Correspondence.objects.all())
    refused = client.get(API, {"limit": 10, "offset": 21})
    assert refused.status_code == 400 and "cursor" in refused.json()["offset"][0]


def test_numbered_pages_count_exactly_below_the_limit(client, people, entries):
    client.force_login(people["officer"])
    page = client.get(API, {"limit": 5, "offset": 30}).json()
    assert page["count"] == 32 and len(page["results"]) == 2 and page["next"] is None
    assert "offset=25" in page["previous"]


def test_the_schema_documents_cursor_and_count(client, people):
    client.force_login(people["sue"])
    schema = client.get("/api/correspondence/v1/schema/?format=json")
    if schema.status_code == 404:
        pytest.skip("schema URL differs")
    text = schema.content.decode()
    assert '"cursor"' in text and "count_limit" in text


ADMIN = "correspondence_register_entries_modeladmin_index"


def admin_list(client, **params):
    from django.test.utils import CaptureQueriesContext
    from django.db import connection

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(ADMIN), params)
    assert response.status_code == 200
    counts = [query["sql"] for query in queries.captured_queries
              if "COUNT(" in query["sql"].upper() and "wagtail_correspondence_correspondence" in query["sql"]]
    return response, counts


def shown(response):
    import re

    return re.findall(r'data-entry="([^"]+)"', response.content.decode())


def test_admin_list_counts_once_and_exactly_below_the_limit(client, people, entries):
    client.force_login(people["officer"])
    response, counts = admin_list(client)
    assert len(counts) == 1, counts  # not the scope, the list and the paginator each
    assert "32 register entries" in response.content.decode()
    assert shown(response) == in_list_order(Correspondence.objects.filter(
        reference__in=shown(response)))[:50] and len(shown(response)) == 32
    assert "Page 1 of 1" in response.content.decode()


def test_admin_list_says_more_than_beyond_the_limit(client, people, entries, settings, monkeypatch):
    from wagtail_correspondence.modeladmin import CorrespondenceAdmin

    settings.WAGTAIL_CORRESPONDENCE = {**getattr(settings, "WAGTAIL_CORRESPONDENCE", {}),
                                       "REGISTER": {"EXACT_COUNT_LIMIT": 20}}
    monkeypatch.setattr(CorrespondenceAdmin, "list_per_page", 5)
    client.force_login(people["sue"])
    expected = in_list_order(Correspondence.objects.all())[:20]
    seen = []
    for page in range(1, 5):
        response, counts = admin_list(client, p=page)
        text = response.content.decode()
        # Counted on the first page; the next ones remember "more than" (LARGE_COUNT_SECONDS).
        assert len(counts) == (page == 1) and "More than 20 register entries" in text
        assert f"Page {page}</p>" in text.replace("\n", "").replace("  ", "") or f"Page {page}" in text
        assert "of 4" not in text
        seen += shown(response)
        assert ("These are the first 20 entries" in text) == (page == 4)
    assert seen == expected
    # Filters narrow it below the limit: exact again.
    response, _ = admin_list(client, department="claims")
    assert "10 register entries" in response.content.decode()


def test_a_list_larger_than_the_limit_is_not_counted_again(client, people, entries, settings):
    """Once a list is found larger than the limit, its pages say "more than" without counting
    for LARGE_COUNT_SECONDS; the memory belongs to that scope and those filters only (another
    user, another filter or a search counts for itself), and 0 turns it off."""
    settings.WAGTAIL_CORRESPONDENCE = {**getattr(settings, "WAGTAIL_CORRESPONDENCE", {}),
                                       "REGISTER": {"EXACT_COUNT_LIMIT": 20}}
    client.force_login(people["sue"])  # sees all 43
    for expected_counts in (1, 0, 0):
        response, counts = admin_list(client)
        assert len(counts) == expected_counts and "More than 20 register entries" in response.content.decode()
    assert client.get(API).json()["count"] is None  # the API's count of the same list remembers it too
    response, counts = admin_list(client, department="claims")  # 10: exact, and counted every time
    assert len(counts) == 1 and "10 register entries" in response.content.decode()
    response, counts = admin_list(client, department="claims")
    assert len(counts) == 1
    client.force_login(people["officer"])  # 32 in their scope: counted for their scope, not remembered from sue's
    response, counts = admin_list(client)
    assert len(counts) == 1 and "More than 20 register entries" in response.content.decode()
    response, counts = admin_list(client, status__exact="registered")  # another filter: counted for itself
    assert len(counts) == 1 and "More than 20 register entries" in response.content.decode()
    response, counts = admin_list(client, q="billing")  # a search: its own limit, its own count
    assert len(counts) == 1
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE,
                                       "REGISTER": {"EXACT_COUNT_LIMIT": 20, "LARGE_COUNT_SECONDS": 0}}
    response, counts = admin_list(client)
    assert len(counts) == 1 and "More than 20 register entries" in response.content.decode()


def test_searched_lists_count_up_to_the_search_limit(client, people, entries, settings, monkeypatch):
    """A search counts its matches up to SEARCH_COUNT_LIMIT (each match would be read to be
    counted); unsearched lists keep EXACT_COUNT_LIMIT. Admin and API alike."""
    from wagtail_correspondence.modeladmin import CorrespondenceAdmin

    settings.WAGTAIL_CORRESPONDENCE = {**getattr(settings, "WAGTAIL_CORRESPONDENCE", {}),
                                       "REGISTER": {"SEARCH_COUNT_LIMIT": 5}}
    monkeypatch.setattr(CorrespondenceAdmin, "list_per_page", 4)
    client.force_login(people["sue"])
    searched = client.get(API, {"q": "billing"}).json()
    assert searched["count"] is None and searched["count_limit"] == 5 and len(searched["results"]) == 31
    few = client.get(API, {"q": "secret"}).json()
    assert few["count"] == 2 and few["count_limit"] == 5
    listed = client.get(API).json()
    assert listed["count"] == 43 and listed["count_limit"] == 10_000
    response, counts = admin_list(client, q="billing")
    assert len(counts) == 1 and "More than 5 register entries" in response.content.decode()
    assert shown(response) == in_list_order(Correspondence.objects.filter(subject__startswith="Billing"))[:4]
    second, _ = admin_list(client, q="billing", p=2)
    # Pages reach as far as the count: the first five matches, and a hint to narrow the search.
    assert shown(second) == in_list_order(Correspondence.objects.filter(subject__startswith="Billing"))[4:5]
    assert "These are the first 5 entries" in second.content.decode()
    response, _ = admin_list(client)
    assert "43 register entries" in response.content.decode()


@pytest.mark.parametrize("spreadsheet", ["csv", "xlsx"])
def test_exports_stream_rows_without_holding_them(client, people, org, spreadsheet, monkeypatch):
    """Peak memory of an export does not grow with its rows: 2,700 entries more, well under a
    megabyte more at the peak (the queryset's cache held every entry, openpyxl every text:
    some 2 KB an entry, several megabytes here)."""
    import tempfile
    import tracemalloc

    from wagtail_correspondence.exports import FormulaSafeExportMixin

    monkeypatch.setattr(FormulaSafeExportMixin, "export_chunk_size", 100)  # both exports span chunks
    client.force_login(people["sue"])

    def peak_of_export(count):
        Correspondence.objects.all().delete()
        Correspondence.objects.bulk_create(
            Correspondence(reference=f"R-{number:06}", subject=f"Subject {number} " + "x" * 200,
                           direction=Direction.INBOUND, department=org["billing"]) for number in range(count))
        tracemalloc.start()
        response = client.get(reverse(ADMIN), {"export": spreadsheet})
        with tempfile.TemporaryFile() as received:  # on disk: the test must not hold it either
            for chunk in response.streaming_content:
                received.write(chunk)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            received.seek(0)
            if spreadsheet == "csv":
                rows = sum(1 for _line in received) - 1
            else:
                from openpyxl import load_workbook

                rows = sum(1 for _row in load_workbook(received, read_only=True).active.iter_rows()) - 1
        assert rows == count
        return peak

    peak_of_export(300)  # the first export loads templates, URLs and libraries
    small, large = peak_of_export(300), peak_of_export(3000)
    assert large - small < 1_000_000, (small, large)


@pytest.mark.django_db(transaction=True, databases=["default", "postgres"])
def test_a_count_that_takes_too_long_is_given_up_on_postgresql(settings):
    """PostgreSQL cancels the count after COUNT_TIME_LIMIT_MS; the setting of the connection
    is as it was afterwards, and the connection still works."""
    from django.db import connections

    from wagtail_correspondence.services.register_access import UNCOUNTED, capped_count

    Correspondence.objects.using("postgres").bulk_create(
        Correspondence(reference=f"P-{number}", subject="x", direction=Direction.INBOUND) for number in range(5))
    slow = Correspondence.objects.using("postgres").extra(where=["pg_sleep(0.05) IS NOT NULL"])
    with connections["postgres"].cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        before = cursor.fetchone()[0]
    assert capped_count(slow) is UNCOUNTED  # 5 rows x 50 ms > 100 ms
    assert capped_count(Correspondence.objects.using("postgres").all()) == 5
    settings.WAGTAIL_CORRESPONDENCE = {**getattr(settings, "WAGTAIL_CORRESPONDENCE", {}),
                                       "REGISTER": {"COUNT_TIME_LIMIT_MS": 0, "LARGE_COUNT_SECONDS": 0}}
    assert capped_count(slow) == 5  # no time limit (nor the memory of the slow count above)
    with connections["postgres"].cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == before
    Correspondence.objects.using("postgres").all().delete()


def test_pages_without_a_total_when_counting_takes_too_long(client, people, entries, monkeypatch):
    """Simulated here (the tests' database is SQLite, which has no time limit): capped_count
    answers UNCOUNTED. The admin reads one entry more than a page to know whether another
    follows, and says the total once the last page is reached; the API's count is null."""
    from wagtail_correspondence.modeladmin import CorrespondenceAdmin
    from wagtail_correspondence.services import register_access

    monkeypatch.setattr(register_access, "capped_count", lambda queryset, limit=None: register_access.UNCOUNTED)
    monkeypatch.setattr("wagtail_correspondence.modeladmin.access.capped_count",
                        lambda queryset, limit=None: register_access.UNCOUNTED)
    monkeypatch.setattr("wagtail_correspondence.api.pagination.capped_count",
                        lambda queryset, limit=None: register_access.UNCOUNTED)
    monkeypatch.setattr(CorrespondenceAdmin, "list_per_page", 10)
    client.force_login(people["officer"])  # 32 entries: pages of 10, 10, 10, 2
    seen = []
    for page in range(1, 5):
        response, _ = admin_list(client, p=page)
        text = response.content.decode()
        seen += shown(response)
        if page < 4:
            assert "More than %d register entries" % (page * 10) in text and "of 4" not in text
            assert f"?p={page + 1}" in text
        else:
            assert "32 register entries" in text and "?p=5" not in text
    assert seen == in_list_order(register_access.visible_entries(people["officer"]))
    response, _ = admin_list(client, p=9)  # past the end: the first page
    assert shown(response) == seen[:10]
    page = client.get(API, {"limit": 5}).json()
    assert page["count"] is None and page["next"]
    numbered = client.get(API, {"limit": 5, "offset": 30}).json()
    assert numbered["count"] is None and len(numbered["results"]) == 2 and numbered["next"] is None


def test_open_entries_are_found_through_their_partial_indexes_on_sqlite(org):
    """SQLite uses a partial index only when the query's condition can be seen to be the
    index's while planning; the open statuses are therefore written into the SQL, not bound
    (models.register.InLiterals): overdue counts and My work can then read the open-entry
    indexes instead of every entry with a past deadline. ``INDEXED BY`` makes SQLite refuse a
    query the index cannot answer, whatever the statistics."""
    from django.db import OperationalError, connection
    from django.utils import timezone

    from wagtail_correspondence.models import OPEN_STATUSES, Status

    if connection.vendor != "sqlite":
        pytest.skip("the tests' default database is SQLite")
    table = f'FROM "{Correspondence._meta.db_table}"'

    def through(queryset, index):
        sql, params = queryset.order_by().values("pk").query.get_compiler("default").as_sql()
        with connection.cursor() as cursor:
            cursor.execute(sql.replace(table, f"{table} INDEXED BY {index}", 1), params)
            return [pk for (pk,) in cursor.fetchall()]

    Correspondence.objects.create(reference="X-1", subject="Open", status=Status.ASSIGNED, department=org["billing"],
                                  due_at=timezone.now() - datetime.timedelta(hours=1))
    closed = Correspondence.objects.create(reference="X-2", subject="Done", status=Status.CLOSED,
                                           due_at=timezone.now() - datetime.timedelta(hours=1))
    overdue = through(Correspondence.objects.overdue(), "register_open_by_deadline")
    assert overdue == list(Correspondence.objects.filter(reference="X-1").values_list("pk", flat=True))
    assert closed.pk not in through(Correspondence.objects.open().filter(assignee__isnull=True),
                                    "register_open_by_assignee")
    with pytest.raises(OperationalError, match="no query solution"):  # bound statuses: unusable
        through(Correspondence.objects.filter(status__in=OPEN_STATUSES), "register_open_by_deadline")
