"""What writing one object into the PostgreSQL search index costs as the index grows: Wagtail's
(modelsearch's) index against ``wagtail_correspondence.search_backend``'s. Prints figures;
asserts nothing about time.

    .venv/bin/python bench/search_index.py [--sizes 10000,100000,1000000] [--writes 20]

Creates a throwaway database on 127.0.0.1:5432 (user postgres; dropped at the end) holding the
index table as modelsearch's PostgreSQL migrations make it (three tsvector columns with their
GIN indexes, the unique key, the fuzzy-match texts), fills it to each size with rows shaped
like register entries (no title) and like pages (a title of 2–9 words), then times writes of
one object at a time (what saving one register entry or one page does), median and p95 of
``--writes`` writes, for each index: register entries, then pages. The floor, measured in the
same run, is one plain ``INSERT … ON CONFLICT`` of a row of the same shape without the index's
bookkeeping.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "site"), str(ROOT)]
DB = f"bench_search_index_{os.getpid()}"
TABLE = "wagtailsearch_indexentry"


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--writes", type=int, default=20)
    return parser.parse_args()


def psql(sql, database="postgres"):
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-q", "-v", "ON_ERROR_STOP=1",
                    "-c", sql], check=True, capture_output=True)


def fill(cursor, size):
    """Rows up to ``size``: 60% shaped like register entries, 40% like pages."""
    cursor.execute(f"SELECT count(*) FROM {TABLE}")
    have = cursor.fetchone()[0]
    if have >= size:
        return
    cursor.execute(f"""
        INSERT INTO {TABLE} (content_type_id, object_id, title, autocomplete, body, title_norm, title_text, body_text)
        SELECT CASE WHEN g %% 5 < 3 THEN 9001 ELSE 9002 END, 'filler-' || g,
               CASE WHEN g %% 5 < 3 THEN ''::tsvector
                    ELSE to_tsvector('english', repeat('statement renewal policy ', 1 + g %% 3) || g) END,
               to_tsvector('simple', 'IN-2026-' || g || ' refund request customer ' || g),
               to_tsvector('english', 'Refund of premium for policy ' || g || ' please see attached letter'),
               1.0, CASE WHEN g %% 5 < 3 THEN '' ELSE 'statement renewal policy ' || g END,
               'Refund of premium for policy ' || g
        FROM generate_series(%s, %s) AS g""", [have + 1, size])
    cursor.execute(f"ANALYZE {TABLE}")


def main():
    args = arguments()
    os.environ["TEST_POSTGRES_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "correspondence_site.settings.test")
    psql(f"CREATE DATABASE {DB}")
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {DB}")


def run(args):
    import django

    django.setup()
    from django.db import connections
    from modelsearch.backends.database.postgres import weights
    from modelsearch.backends.database.postgres.postgres import IndexEntry, PostgresSearchBackend
    from wagtail.models import Page

    from wagtail_correspondence import search_backend
    from wagtail_correspondence.models import Correspondence

    if not weights.BOOSTS_WEIGHTS:  # done at start-up when the site's default database is PostgreSQL
        weights.set_weights()
    connection = connections["postgres"]
    with connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE TABLE {TABLE} (
                id bigserial PRIMARY KEY, content_type_id integer NOT NULL, object_id varchar(50) NOT NULL,
                title_norm double precision NOT NULL DEFAULT 1.0, autocomplete tsvector NOT NULL,
                title tsvector NOT NULL, body tsvector NOT NULL, title_text text NOT NULL DEFAULT '',
                body_text text NOT NULL DEFAULT '', UNIQUE (content_type_id, object_id));
            CREATE INDEX ON {TABLE} USING gin (autocomplete);
            CREATE INDEX ON {TABLE} USING gin (title);
            CREATE INDEX ON {TABLE} USING gin (body);""")

    def index(kind):
        backend_class = search_backend._postgres_backend_class() if kind == "ours" else PostgresSearchBackend
        backend = backend_class({})
        instance = backend.index_class.__new__(backend.index_class)
        instance.backend = backend
        instance.read_connection = instance.write_connection = connection
        instance.entries = IndexEntry._default_manager.using("postgres").all()
        return instance

    def entry(number):
        return Correspondence(pk=number, reference=f"IN-2026-{number:07d}", subject=f"Refund request {number}",
                              body="Dear Sir or Madam, please refund the premium of my policy. " * 4,
                              sender_name="Ada Peeters", sender_email="ada@example.org", customer_id="C-1")

    def page(number):
        return Page(pk=number, title=f"Annual statement {number} of your policy", slug=f"p{number}",
                    path=f"0001{number:06d}", depth=2)

    def floor(number):
        with connection.cursor() as cursor:
            cursor.execute(f"""
                INSERT INTO {TABLE} (content_type_id, object_id, title, autocomplete, body, title_norm,
                                     title_text, body_text)
                VALUES (9003, %s, to_tsvector('english', %s), to_tsvector('simple', %s),
                        to_tsvector('english', %s), 1.0, %s, %s)
                ON CONFLICT (content_type_id, object_id) DO UPDATE SET body = EXCLUDED.body""",
                           [str(number), "Annual statement", "IN-2026 refund", "Refund of premium", "", "x"])

    def timed(write, start):
        times = []
        for number in range(start, start + args.writes):
            began = time.perf_counter()
            write(number)
            times.append((time.perf_counter() - began) * 1000)
        times.sort()
        return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]

    print(f"search index bench: PostgreSQL on 127.0.0.1, database {DB}; {args.writes} writes of one object "
          "per figure (median / p95, ms); autocommit, as a save outside a transaction")
    start = 1_000_000_000
    for size in [int(size) for size in args.sizes.split(",")]:
        with connection.cursor() as cursor:
            began = time.perf_counter()
            fill(cursor, size)
            filled = time.perf_counter() - began
        print(f"\nindex of {size:,} rows (filled in {filled:.1f} s)")
        floor_median, p95 = timed(floor, start)
        start += args.writes
        print(f"  floor (one plain INSERT … ON CONFLICT)  : {floor_median:7.2f} / {p95:7.2f}")
        for label, make in (("a register entry", entry), ("a page (with a title)", page)):
            for kind in ("wagtail", "ours"):
                search_backend._averages.clear()  # each figure starts with no kept average
                writer = index(kind)
                median, p95 = timed(lambda number, writer=writer, make=make: writer.add_items(
                    type(make(1)), [make(number)]), start)
                start += args.writes
                name = "Wagtail's index" if kind == "wagtail" else "search_backend"
                print(f"  {label:22} {name:16}: {median:7.2f} / {p95:7.2f}  ({median / floor_median:.1f}x the floor)")


if __name__ == "__main__":
    main()
