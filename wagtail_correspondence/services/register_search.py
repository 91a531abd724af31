"""Register search on PostgreSQL through the entries' own search document.

Migration 0030 gives every entry a ``search_document`` column that PostgreSQL generates from the
entry's reference, subject, parties and body (weighted A, B, C), with a GIN index. A word is
matched against it as a word beginning of the word's stem (``refunds`` finds "refund",
"refunded"; ``refu`` finds them too), so one index answers what Wagtail's index answered with
three vectors, and the user's scope is tested on the same rows in the same scan.

The column is unknown to Django's model: Django never reads or writes it (PostgreSQL keeps it
current on every insert and update, so there is no index lag), and a database without it
(SQLite) searches through Wagtail's search index instead (``search_backend.index_matches``).
"""

from django.db import connections
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from ..search_backend import document_search_available  # noqa: F401 (where callers look for it)

# Kept in step with migration 0030.
DOCUMENT_COLUMN = "search_document"
DOCUMENT_CONFIG = "english"


def as_typed(word):
    """``word`` as one quoted tsquery operand that matches word beginnings: quotes and
    backslashes are escaped, so no typed character is tsquery syntax."""
    word = word.replace("\x00", "")  # PostgreSQL refuses a NUL byte in any text
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "':*"


def document_queries(words, using="default"):
    """For each word, the normalised tsquery text that finds it (``'refund':*``), or ``None``
    for a word the configuration leaves out (a stop word, punctuation): one round trip for
    every word of a search."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT q::text, numnode(q) FROM unnest(%s::text[]) WITH ORDINALITY AS w(operand, position), "
            "LATERAL to_tsquery(%s::regconfig, w.operand) AS q ORDER BY w.position",
            [[as_typed(word) for word in words], DOCUMENT_CONFIG])
        return [text if nodes else None for text, nodes in cursor.fetchall()]


def document_matches(tsquery, table):
    """A condition for ``filter()``/``Q()``: the entry's document matches ``tsquery`` (a text
    from ``document_queries``). A constant query, so the planner can weigh it against the
    user's scope and use the GIN index or the list order, whichever reads fewer rows."""
    return RawSQL(f'"{table}"."{DOCUMENT_COLUMN}" @@ %s::tsquery', [tsquery], output_field=BooleanField())
