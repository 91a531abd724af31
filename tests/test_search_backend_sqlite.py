"""The SQLite search index of wagtail_correspondence.search_backend: Wagtail's FTS5 index,
except that an insert no longer reads the whole index table (the average title length is
kept, and only the rows just written get their title weight)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import Page
from wagtail.search.backends import get_search_backend

from wagtail_correspondence import search_backend
from wagtail_correspondence.models import Correspondence, Direction

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_average():
    search_backend._averages.clear()
    yield
    search_backend._averages.clear()


def test_the_site_s_sqlite_index_is_the_flat_cost_one():
    assert type(get_search_backend()).__name__ == "FlatCostSQLiteSearchBackend"


def test_an_insert_reads_no_other_rows_of_the_index():
    backend = get_search_backend()
    first = Correspondence.objects.create(reference="IN-1", subject="Refund of my premium", direction=Direction.INBOUND)
    backend.add(first)  # the average is read once here
    second = Correspondence.objects.create(reference="IN-2", subject="Refund again", direction=Direction.INBOUND)
    with CaptureQueriesContext(connection) as queries:
        backend.add(second)
    statements = [query["sql"] for query in queries.captured_queries if "wagtailsearch_indexentry" in query["sql"]]
    assert not [sql for sql in statements if "AVG(" in sql.upper()], statements
    updates = [sql for sql in statements if sql.upper().startswith("UPDATE")]
    assert all("object_id" in sql for sql in updates), updates  # only the rows just written
    found = backend.search("refund", Correspondence.objects.all())
    assert {entry.reference for entry in found} == {"IN-1", "IN-2"}


def test_only_the_rows_written_get_a_title_weight_from_the_kept_average():
    from modelsearch.backends.database.sqlite.sqlite import IndexEntry

    backend = get_search_backend()
    root = Page.get_first_root_node()
    short = root.add_child(instance=Page(title="Reminder", slug="reminder"))
    backend.add(short)
    average = len("Reminder")
    longer = root.add_child(instance=Page(title="Annual statement of your policy", slug="statement"))
    backend.add(longer)

    def norm(page):
        return IndexEntry.objects.get(content_type__model="page", object_id=str(page.pk)).title_norm

    assert norm(short) == pytest.approx(1.0)
    # The average read at the first insert, not the two titles' (Wagtail's would be 19.5 / 31).
    assert norm(longer) == pytest.approx(average / len("Annual statement of your policy"))
    # update_index recomputes every row from the exact average, as Wagtail does.
    backend.get_index_for_model(Page)._refresh_title_norms(full=True)
    exact = (len("Reminder") + len("Annual statement of your policy")) / 2
    assert norm(longer) == pytest.approx(exact / len("Annual statement of your policy"))
