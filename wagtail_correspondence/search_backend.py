"""Wagtail's database search backend, with a PostgreSQL index that keeps its cost per object
flat as the index grows.

Use it in place of ``wagtail.search.backends.database``::

    WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail_correspondence.search_backend"}}

On SQLite and MySQL it *is* Wagtail's backend. On PostgreSQL, searching is Wagtail's too; only
writing objects into the index differs, in two ways, both measured in docs/performance.md:

- After every insert, Wagtail's index recomputes the average title length over the whole index
  table and rewrites every row whose title weight is still the default: two full scans of the
  table per saved object (half a second at a million register entries). Here the average is
  kept for ``TITLE_AVERAGE_TTL`` seconds (read from a sample of the table once it is large),
  and only the rows just written get their weight. ``manage.py update_index`` still
  recomputes every row from the exact average, as Wagtail does.
- The SQL of each object's weighted text vectors is compiled by Django's expressions once per
  shape (how many texts, which weights) instead of once per object; the texts are parameters
  as before, so the rows written are the same.
"""

import time

from django.contrib.postgres.search import SearchVector
from django.db import connection, connections
from django.db.models import TextField, Value
from django.db.models.sql.subqueries import InsertQuery

TITLE_AVERAGE_TTL = 600
# Above this many rows (PostgreSQL's estimate) the average title length is read from a sample
# of the table's pages rather than from every row.
SAMPLE_ABOVE_ROWS = 200_000
SAMPLE_ROWS = 20_000


def SearchBackend(params):  # noqa: N802 (the name Wagtail looks up in a backend module)
    from modelsearch.backends.database import SearchBackend as database_backend

    if connection.vendor == "postgresql":
        return _postgres_backend_class()(params)
    backend = database_backend(params)
    if connection.vendor == "sqlite" and type(backend).__name__ == "SQLiteSearchBackend":
        return _sqlite_backend_class()(params)
    return backend


_classes = {}
_averages = {}  # database alias: (average title length, when it was read)


def _postgres_backend_class():
    """Defined on first use: modelsearch's PostgreSQL module needs django.contrib.postgres,
    which a site on SQLite does not install."""
    if "backend" in _classes:
        return _classes["backend"]
    from modelsearch.backends.database.postgres.postgres import (
        EMPTY_VECTOR,
        IndexEntry,
        ObjectIndexer,
        PostgresIndex,
        PostgresSearchBackend,
    )
    from modelsearch.utils import ADD, get_content_type_pk

    class VectorSql:
        """The SQL of a weighted text vector, compiled once per shape."""

        def __init__(self):
            self.shapes = {}

        def __call__(self, compiler, write_connection, field, texts, config):
            texts = [(text.strip(), weight) for text, weight in texts]
            texts = [(text, weight) for text, weight in texts if text]
            key = (field.name, tuple(weight for _text, weight in texts), config, write_connection.alias)
            shape = self.shapes.get(key)
            if shape is None:
                # Compiled with placeholders; each must come out as one parameter of its own,
                # or the shape is not reused and every object is compiled as Wagtail would.
                marks = [f"\x00text {number}\x00" for number in range(len(texts))]
                sql, params = self._compile(compiler, write_connection, field, list(zip(marks, texts)), config)
                slots = [marks.index(param) if param in marks else None for param in params]
                reusable = sorted(slot for slot in slots if slot is not None) == list(range(len(texts)))
                shape = self.shapes[key] = (sql, params, slots) if reusable else False
            if shape is False:
                return self._compile(compiler, write_connection, field, [(text, (text, weight))
                                                                         for text, weight in texts], config)
            sql, params, slots = shape
            return sql, [param if slot is None else texts[slot][0] for param, slot in zip(params, slots)]

        @staticmethod
        def _compile(compiler, write_connection, field, texts, config):
            vector = ADD([SearchVector(Value(value, output_field=TextField()), weight=weight, config=config)
                          for value, (_text, weight) in texts]) if texts else EMPTY_VECTOR
            value = compiler.prepare_value(field, vector)
            return value.as_sql(compiler, write_connection)

    class Texts(ObjectIndexer):
        """What Wagtail's indexer puts into the title, body and autocomplete vectors, as
        (text, weight) pairs, in one pass over the object's search fields."""

        def pairs(self):
            from modelsearch.index import AutocompleteField, SearchField

            title, body, autocomplete = [], [], []
            for search_field in self.search_fields:
                for current, weight, value in self.prepare_field(self.obj, search_field):
                    if isinstance(current, SearchField):
                        (title if current.field_name == "title" else body).append((value, weight))
                    elif isinstance(current, AutocompleteField):
                        autocomplete.append((value, weight))
            return title, body, autocomplete

    vector_sql = VectorSql()

    class FlatCostPostgresIndex(PostgresIndex):
        def add_items(self, model, objs):
            if not model.get_search_fields():
                return
            indexers = [Texts(obj, self.backend) for obj in objs]
            if not indexers:
                return
            content_type_pk = get_content_type_pk(model)
            compiler = InsertQuery(IndexEntry).get_compiler(connection=self.write_connection)
            fields = {name: IndexEntry._meta.get_field(name) for name in ("title", "autocomplete", "body")}
            rows, params = [], []
            for indexer in indexers:
                title, body, autocomplete = indexer.pairs()
                params.extend((content_type_pk, indexer.id))
                vectors = []
                for name, texts, config in (("title", title, self.backend.config),
                                            ("autocomplete", autocomplete, self.backend.autocomplete_config),
                                            ("body", body, self.backend.config)):
                    sql, vector_params = vector_sql(compiler, self.write_connection, fields[name], texts, config)
                    vectors.append(sql)
                    params.extend(vector_params)
                # The plain texts for fuzzy matching, as Wagtail's indexer joins them.
                params.append(" ".join(text.strip() for text, _weight in title if text.strip()))
                params.append(" ".join(text.strip() for text, _weight in body if text.strip()))
                rows.append(f"(%s, %s, {vectors[0]}, {vectors[1]}, {vectors[2]}, 1.0, %s, %s)")
            table = IndexEntry._meta.db_table
            with self.write_connection.cursor() as cursor:
                cursor.execute(
                    f"""
                    INSERT INTO {table} (content_type_id, object_id, title, autocomplete, body, title_norm,
                                         title_text, body_text)
                    (VALUES {", ".join(rows)})
                    ON CONFLICT (content_type_id, object_id)
                    DO UPDATE SET title = EXCLUDED.title, title_norm = 1.0, autocomplete = EXCLUDED.autocomplete,
                                  body = EXCLUDED.body, title_text = EXCLUDED.title_text,
                                  body_text = EXCLUDED.body_text
                    """, params)
                average = self.average_title_length(cursor)
                if average:
                    cursor.execute(
                        f"UPDATE {table} SET title_norm = %s / length(title) "
                        f"WHERE content_type_id = %s AND object_id = ANY(%s) AND length(title) > 0",
                        [average, content_type_pk, [indexer.id for indexer in indexers]])

        def average_title_length(self, cursor):
            """Kept for TITLE_AVERAGE_TTL seconds by each process (``_kept_average``); a sample
            of the table's pages once it is large."""
            table = IndexEntry._meta.db_table

            def read():
                cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
                estimate = (cursor.fetchone() or [0])[0] or 0
                sample = (f" TABLESAMPLE SYSTEM ({min(100.0, 100.0 * SAMPLE_ROWS / estimate):.4f})"
                          if estimate > SAMPLE_ABOVE_ROWS else "")
                cursor.execute(f"SELECT avg(length(title)) FROM {table}{sample} WHERE length(title) > 0")
                average = cursor.fetchone()[0]
                if average is None and sample:  # an unlucky sample: every row, once
                    cursor.execute(f"SELECT avg(length(title)) FROM {table} WHERE length(title) > 0")
                    average = cursor.fetchone()[0]
                # Kept even when no row has a title (a register's entries have none): not keeping
                # "none" made every insert scan the whole table again.
                return average

            return _kept_average(self.write_connection.alias, read)

    class FlatCostPostgresSearchBackend(PostgresSearchBackend):
        index_class = FlatCostPostgresIndex

    _classes["backend"] = FlatCostPostgresSearchBackend
    return FlatCostPostgresSearchBackend


def _kept_average(alias, read):
    """The average title length of the index on ``alias``: ``read()``, kept for
    TITLE_AVERAGE_TTL seconds by each process, "no titles" included."""
    kept = _averages.get(alias)
    if kept is not None and time.monotonic() - kept[1] < TITLE_AVERAGE_TTL:
        return kept[0]
    average = read()
    average = float(average) if average is not None else None
    _averages[alias] = (average, time.monotonic())
    return average


def _sqlite_backend_class():
    """Wagtail's SQLite (FTS5) index, whose writes do not read the whole index table: after every
    insert Wagtail's averages the title lengths of every row and rewrites every row still at the
    default weight (30 ms per registration at 100,000 register entries). Here, as on
    PostgreSQL, the average is kept for TITLE_AVERAGE_TTL seconds and only the rows just
    written get their weight; ``update_index`` still recomputes every row."""
    if "sqlite" in _classes:
        return _classes["sqlite"]
    from django.db.models import Avg, F
    from django.db.models.functions import Length
    from modelsearch.backends.database.sqlite.sqlite import SQLiteIndex, SQLiteSearchBackend
    from modelsearch.utils import get_content_type_pk

    class FlatCostSQLiteIndex(SQLiteIndex):
        written = None  # (content type, object ids) of the add_items call under way

        def add_items(self, model, objs):
            self.written = (get_content_type_pk(model), [str(obj.pk) for obj in objs])
            try:
                super().add_items(model, objs)
            finally:
                self.written = None

        def _refresh_title_norms(self, full=False):
            if full or self.written is None:
                return super()._refresh_title_norms(full)
            average = _kept_average(self.write_connection.alias, lambda: self.entries.annotate(
                title_length=Length("title")).filter(title_length__gt=0).aggregate(Avg("title_length"))[
                "title_length__avg"])
            if average is None:
                return None
            content_type_pk, ids = self.written
            return self.entries.filter(content_type_id=content_type_pk, object_id__in=ids).annotate(
                title_length=Length("title")).filter(title_length__gt=0).update(title_norm=average / F("title_length"))

    class FlatCostSQLiteSearchBackend(SQLiteSearchBackend):
        index_class = FlatCostSQLiteIndex

    _classes["sqlite"] = FlatCostSQLiteSearchBackend
    return FlatCostSQLiteSearchBackend


SEARCH_CANDIDATES = 10_000


def document_search_available(using="default"):
    """Whether register search uses the entries' own search documents (migration 0030,
    services.register_search): on PostgreSQL, unless the site searches on a search server
    (Elasticsearch, OpenSearch), whose index then answers as configured. Register entries are
    then left out of Wagtail's search index."""
    if connections[using].vendor != "postgresql":
        return False
    from wagtail.search.backends import get_search_backend

    return any(cls.__module__.startswith("modelsearch.backends.database")
               for cls in type(get_search_backend()).__mro__)


def index_matches(model, word, *, backend=None, using="default"):
    """Which ``model`` objects the search index finds for one ``word`` (the word or its stem,
    or a word beginning with it in the autocomplete fields): a list of querysets of primary
    keys (``values("pk")``) for a caller to unite with its own and use in ``pk__in``, or
    ``None`` for a word the index leaves out, such as a stop word.

    On the database backends these are subqueries: every match, no list of ids in Python and
    no limit, so that the caller's own filters (a user's scope) decide what is shown. On other
    backends (Elasticsearch, OpenSearch) they hold at most ``SEARCH_CANDIDATES`` ids each.

    On PostgreSQL the title, body and autocomplete vectors are matched separately, each
    through its own GIN index; Wagtail's own query matches ``title || body``, which no index
    serves, and reads the whole index table on every search."""
    if backend is None:
        from wagtail.search.backends import get_search_backend

        backend = get_search_backend()
    found = backend.search(word, model.objects.all(), order_by_relevance=False)
    beginnings = backend.autocomplete(word, model.objects.all())
    if connections[using].vendor == "postgresql" and isinstance(backend, _postgres_backend_class()):
        return _postgres_matches(backend, model, found.query_compiler, beginnings.query_compiler, using)
    if hasattr(found, "get_queryset"):  # Wagtail's SQLite and MySQL backends: subqueries as well
        matches = [results.get_queryset().order_by().values("pk") for results in (found, beginnings)]
        for subquery in matches:
            # Run once here: a word FTS5 cannot parse (a lone '"') fails now, where the caller
            # can fall back, not later inside the list's own query.
            subquery[:1].exists()
        return matches
    return [model.objects.filter(pk__in=[obj.pk for obj in results[:SEARCH_CANDIDATES]]).order_by().values("pk")
            for results in (found, beginnings)]


def _match(column, query):
    """``column @@ query``, whatever field class the index model was given for ``column``."""
    from django.db.models import BooleanField, F, Func

    return Func(F(column), query, template="(%(expressions)s)", arg_joiner=" @@ ", output_field=BooleanField())


def _postgres_matches(backend, model, words_compiler, beginnings_compiler, using):
    from django.db.models import BigIntegerField, Q
    from django.db.models.functions import Cast
    from django.db.models.sql import Query
    from modelsearch.backends.database.postgres.postgres import IndexEntry
    from modelsearch.utils import get_content_type_pk

    words = words_compiler.build_tsquery(words_compiler.query, config=words_compiler.get_config(backend))
    beginnings = beginnings_compiler.build_tsquery(beginnings_compiler.query,
                                                   config=beginnings_compiler.get_config(backend))
    # A stop word makes an empty query, which would match nothing: the word is left out.
    database = connections[using]
    sql_compiler = Query(None).get_compiler(connection=database)
    sql, params = words.resolve_expression(Query(None)).as_sql(sql_compiler, database)
    with database.cursor() as cursor:
        cursor.execute(f"SELECT numnode({sql})", params)
        if not cursor.fetchone()[0]:
            return None
    return [IndexEntry.objects.using(using).filter(content_type_id=get_content_type_pk(model))
            .filter(Q(_match("title", words)) | Q(_match("body", words)) | Q(_match("autocomplete", beginnings)))
            .annotate(object_pk=Cast("object_id", BigIntegerField())).order_by().values("object_pk")]
