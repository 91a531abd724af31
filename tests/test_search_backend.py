"""The PostgreSQL search index of wagtail_correspondence.search_backend writes the rows Wagtail's
own index writes (same vectors, same fuzzy-match texts, same title weights), without reading
the whole index table per insert. Run against the test PostgreSQL database."""

import pytest
from django.db import connections
from wagtail.models import Page

from wagtail_correspondence import search_backend
from wagtail_correspondence.models import Correspondence

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgres"])

DB = "postgres"
TABLE = "wagtailsearch_indexentry"  # Wagtail's IndexEntry, which modelsearch writes
COLUMNS = ("content_type_id", "object_id", "title::text", "autocomplete::text", "body::text", "title_text",
           "body_text", "round(title_norm::numeric, 6)")
HOSTILE = "'); DELETE FROM wagtailsearch_indexentry; -- %s %(x)s {0} \\ ' \" $$ :x ?"


@pytest.fixture(autouse=True)
def index_table():
    """The index table as modelsearch's PostgreSQL migrations make it (the test database's
    tables come from the models as seen on SQLite, where the index is an FTS table)."""
    with connections[DB].cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_as_on_sqlite")
        cursor.execute(f"""
            CREATE TABLE {TABLE} (
                id bigserial PRIMARY KEY, content_type_id integer NOT NULL, object_id varchar(50) NOT NULL,
                title_norm double precision NOT NULL DEFAULT 1.0, autocomplete tsvector NOT NULL,
                title tsvector NOT NULL, body tsvector NOT NULL, title_text text NOT NULL DEFAULT '',
                body_text text NOT NULL DEFAULT '', UNIQUE (content_type_id, object_id))""")
    yield
    with connections[DB].cursor() as cursor:
        cursor.execute(f"DROP TABLE {TABLE}")
        cursor.execute(f"ALTER TABLE {TABLE}_as_on_sqlite RENAME TO {TABLE}")


def index(kind):
    """An index of ``kind`` ("wagtail" or "ours") writing to the test PostgreSQL database (the
    tests' default database is SQLite, so the backend's own connection check is skipped)."""
    from modelsearch.backends.database.postgres import weights
    from modelsearch.backends.database.postgres.postgres import IndexEntry, PostgresIndex, PostgresSearchBackend

    if not weights.BOOSTS_WEIGHTS:  # done when the site's default database is PostgreSQL
        weights.set_weights()

    backend_class = search_backend._postgres_backend_class() if kind == "ours" else PostgresSearchBackend
    backend = backend_class({})
    index = backend.index_class.__new__(backend.index_class)
    index.backend = backend
    index.read_connection = index.write_connection = connections[DB]
    index.entries = IndexEntry._default_manager.using(DB).all()
    assert isinstance(index, PostgresIndex)
    return index


def rows():
    with connections[DB].cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY content_type_id, object_id")
        return cursor.fetchall()


def clear():
    with connections[DB].cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")
    search_backend._averages.clear()


def entries():
    texts = ["Refund of your premium", "", "   ", "Été à Liège — ½ € ✓", HOSTILE, "word " * 500]
    return [Correspondence(pk=number, reference=f"IN-2026-{number:06d}", subject=text, body=texts[-1 - n % 6],
                           sender_name=f"Sender {number}" if number % 2 else "", customer_id=f"C-{number}",
                           sender_email="a@example.org" if number % 3 else "")
            for n, (number, text) in enumerate(zip(range(1, 31), texts * 5))]


def pages():
    titles = ["Payment reminder", "Annual statement of your policy and its renewal", "x", HOSTILE, "", "Été"]
    return [Page(pk=number, title=title, slug=f"p{number}", path=f"0001{number:04d}", depth=2)
            for number, title in zip(range(1, 13), titles * 2)]


@pytest.mark.parametrize("make", [entries, pages], ids=["register entries", "pages with titles"])
def test_the_rows_written_are_wagtail_s(make):
    clear()
    objects = make()
    model = type(objects[0])
    wagtail = index("wagtail")
    wagtail.add_items(model, objects[:5])
    wagtail.add_items(model, objects[5:])
    expected = rows()
    assert len(expected) == len(objects)
    clear()
    ours = index("ours")
    ours.add_items(model, objects[:5])  # compiles the shapes
    search_backend._averages.clear()  # as if the average had expired: read again, as Wagtail does
    ours.add_items(model, objects[5:])  # reuses the shapes with other texts
    assert rows() == expected
    # Written again (objects saved again), the rows are the same as Wagtail's.
    wagtail.add_items(model, objects)
    expected = rows()
    ours.add_items(model, objects)
    assert rows() == expected


def test_only_the_rows_written_get_a_title_weight_and_the_average_is_kept():
    clear()
    ours = index("ours")
    ours.add_items(Page, pages()[:6])
    with connections[DB].cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET title_norm = 1.0 WHERE object_id = '1'")
        cursor.execute(f"SELECT avg(length(title)) FROM {TABLE} WHERE length(title) > 0")
        average = float(cursor.fetchone()[0])
    assert search_backend._averages[DB][0] == pytest.approx(average)
    ours.add_items(Page, [Page(pk=50, title="A much longer title than any before it in this index", slug="l",
                               path="00010050", depth=2)])
    with connections[DB].cursor() as cursor:
        cursor.execute(f"SELECT object_id, title_norm, length(title) FROM {TABLE} "
                       "WHERE object_id IN ('1', '50')")
        norms = {object_id: (norm, length) for object_id, norm, length in cursor.fetchall()}
    # Page 1's weight was left alone (Wagtail's index would have rewritten it), page 50's was
    # set from the kept average, not from one read again.
    assert norms["1"][0] == 1.0
    assert norms["50"][0] == pytest.approx(average / norms["50"][1])


def test_an_index_without_titles_is_not_scanned_on_every_insert():
    """Register entries have no title: the average title length is "none", and that too is
    kept (it was not, and every insert scanned the whole index table again, 200 ms a
    registration at a million entries)."""
    from django.test.utils import CaptureQueriesContext

    clear()
    ours = index("ours")
    objects = entries()
    ours.add_items(Correspondence, objects[:3])
    assert search_backend._averages[DB] == (None, pytest.approx(search_backend._averages[DB][1]))
    with CaptureQueriesContext(connections[DB]) as queries:
        ours.add_items(Correspondence, objects[3:6])
    assert not [query for query in queries.captured_queries if "avg(length(title))" in query["sql"]]


def test_register_search_matches_through_the_gin_indexes():
    """index_matches on PostgreSQL: a subquery on the index table that matches the title, body
    and autocomplete vectors one by one, each served by its GIN index (Wagtail's own query,
    ``title || body @@ query``, can use none and reads the whole table)."""
    objects = [
        Correspondence(pk=1, reference="IN-2026-000001", subject="Refund of your premium", body=""),
        Correspondence(pk=2, reference="IN-2026-000002", subject="Address change", body="Please refund it"),
        Correspondence(pk=3, reference="IN-2026-000003", subject="Refunds, twice", body=""),
        Correspondence(pk=4, reference="IN-2026-000004", subject="Invoice", body=HOSTILE),
    ]
    Correspondence.objects.using(DB).bulk_create(objects)
    ours = index("ours")
    ours.add_items(Correspondence, objects)

    def found(word):
        matches = search_backend.index_matches(Correspondence, word, backend=ours.backend, using=DB)
        if matches is None:
            return None
        return set(Correspondence.objects.using(DB).filter(pk__in=matches[0]).values_list("pk", flat=True))

    assert found("refund") == {1, 2, 3}  # stems: refunds
    assert found("Refu") == {1, 3}  # a word beginning, in the autocomplete fields (subject)
    assert found("the") is None  # a stop word: left out, not "no match"
    # Reference numbers are not words for the index ("IN-2026-000004" becomes "in", "-2026",
    # "-000004"): register_access.search_entries matches them as identifiers.
    assert found("'); DELETE") is not None and found("invoice") == {4}

    with connections[DB].cursor() as cursor:
        for column in ("title", "body", "autocomplete"):
            cursor.execute(f"CREATE INDEX {TABLE}_{column}_gin_test ON {TABLE} USING gin ({column})")
        # Many entries of the same kind, none with the word: the planner now has a reason to
        # prefer the word's GIN indexes over the content type's index.
        from modelsearch.utils import get_content_type_pk

        cursor.execute(f"INSERT INTO {TABLE} (content_type_id, object_id, title, autocomplete, body) "
                       f"SELECT %s, 'filler' || n, to_tsvector('simple', 'filler ' || n), "
                       f"to_tsvector('simple', 'filler'), to_tsvector('simple', 'other words') "
                       f"FROM generate_series(1, 20000) AS n", [get_content_type_pk(Correspondence)])
        cursor.execute(f"ANALYZE {TABLE}")
        cursor.execute("SET enable_seqscan = off")
        try:
            matches = search_backend.index_matches(Correspondence, "refund", backend=ours.backend, using=DB)
            sql, params = Correspondence.objects.using(DB).filter(pk__in=matches[0]).values("pk").query.get_compiler(
                DB).as_sql()
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("SET enable_seqscan = on")
    for column in ("title", "body", "autocomplete"):
        assert f"{TABLE}_{column}_gin_test" in plan, plan
    Correspondence.objects.using(DB).filter(pk__in=[1, 2, 3, 4]).delete()
