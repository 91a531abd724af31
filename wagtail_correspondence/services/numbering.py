"""Reference numbers: unique, sequential per prefix and year, safe under concurrency.

``next_reference`` must run inside the transaction that saves the numbered record. The
sequence row stays locked until that transaction ends, so two writers never get the same
number, and a failed save gives its number back instead of leaving a gap. Batches reserve
a block per chunk instead (``reserve_block``, a transaction of its own), so that workers do
not wait for each other while they render; a number of the block whose row fails is
recorded as a VoidReference. (Counting existing
rows, or looping on ``exists()``, hands out duplicates under concurrency.)
"""

import string

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone

from ..models import ReferenceSequence

SEQ_FIELD = "seq"


class ReferencePatternError(ValueError):
    pass


def _split(pattern):
    """The pattern with every field except the counter as (literal, field, format_spec) parts."""
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise ReferencePatternError(f"invalid reference pattern {pattern!r}: {exc}") from exc
    if not any(field == SEQ_FIELD for _literal, field, _spec, _conv in parts):
        raise ReferencePatternError(f"the reference pattern {pattern!r} has no {{seq}} counter")
    return parts


def format_reference(pattern, seq, **values):
    try:
        return pattern.format(seq=seq, **values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ReferencePatternError(f"cannot format the reference pattern {pattern!r}: {exc}") from exc


def sequence_prefix(pattern, **values):
    """The pattern filled in except for the counter: ``OUT-{year}-{seq:06}`` → ``OUT-2026-#``."""
    prefix = []
    for literal, field, spec, _conversion in _split(pattern):
        prefix.append(literal)
        if field is None:
            continue
        if field == SEQ_FIELD:
            prefix.append("#")
        else:
            prefix.append(format(values[field], spec or ""))
    return "".join(prefix)[:100]


def _take(pattern, count, when, using, values):
    """Advance the counter of ``pattern`` by ``count`` (its row locked until the transaction
    ends) and return the first of the values taken."""
    values.setdefault("year", when.year)
    prefix = sequence_prefix(pattern, **values)
    advanced = _advance(prefix, when.year, count, using)
    if advanced is None:
        try:
            with transaction.atomic(using=using):  # a savepoint: a concurrent creator may win
                ReferenceSequence.objects.using(using).create(prefix=prefix, year=when.year, last_value=0)
        except IntegrityError:
            pass
        advanced = _advance(prefix, when.year, count, using)
    return advanced - count + 1


def _advance(prefix, year, count, using):
    """The counter after adding ``count``, in one statement that also locks the row (an
    UPDATE takes the row lock a SELECT ... FOR UPDATE would); None when there is no row yet.
    (Registering one entry takes one number: the lock and the write are one round trip.)"""
    table = ReferenceSequence._meta.db_table
    connection = connections[using or DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {connection.ops.quote_name(table)} SET last_value = last_value + %s "
                       "WHERE prefix = %s AND year = %s RETURNING last_value", [count, prefix, year])
        row = cursor.fetchone()
    return row[0] if row else None


def next_references(pattern, count, *, when=None, using=None, **values):
    """The next ``count`` references for ``pattern`` ({year}, {seq} and any ``values``
    given), in order: one lock and one update for all of them (a run of registrations)."""
    if count < 1:
        raise ValueError("take at least one number")
    if not transaction.get_connection(using).in_atomic_block:
        raise RuntimeError("next_reference() must run inside the transaction that saves the record")
    when = when or timezone.localdate()
    first = _take(pattern, count, when, using, values)
    return [format_reference(pattern, seq, **values) for seq in range(first, first + count)]


def next_reference(pattern, *, when=None, using=None, **values):
    """The next reference for ``pattern`` ({year}, {seq} and any ``values`` given)."""
    return next_references(pattern, 1, when=when, using=using, **values)[0]


def reserve_block(pattern, count, *, when=None, using=None, **values):
    """Reserve ``count`` consecutive numbers of ``pattern`` and return the first counter value.

    Runs in a transaction of its own that only locks the counter row: batches call it per
    chunk, so workers wait for each other only for this one statement, not while they
    render. The numbers are the caller's from then on; each must end up on a letter or be
    recorded as a VoidReference (``void``)."""
    if count < 1:
        raise ValueError("reserve at least one number")
    with transaction.atomic(using=using):
        return _take(pattern, count, when or timezone.localdate(), using, values)


def block_reference(pattern, seq, when):
    """The reference of counter value ``seq`` of a block reserved on ``when``."""
    return format_reference(pattern, seq, year=when.year)
