"""Who sees and may do what in the register. One place, used by the admin views, the API,
search and exports alike, so that a list, a count and a download never disagree.

Scope: users see the entries of their departments and every department below them, plus
entries assigned to or registered by them; ``view_all_correspondence`` lifts the department
scope. Strictly confidential entries also need ``view_confidential_correspondence`` unless
the user is their assignee or registered them.
"""

import hashlib
import logging
from datetime import timedelta

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import OperationalError, connections, transaction
from django.db.models import Q

from ..conf import get_setting
from ..models import Confidentiality, Correspondence, Department

logger = logging.getLogger(__name__)

APP = "wagtail_correspondence"
VIEW = f"{APP}.view_correspondence"
ADD = f"{APP}.add_correspondence"
CHANGE = f"{APP}.change_correspondence"
ASSIGN = f"{APP}.assign_correspondence"
VIEW_ALL = f"{APP}.view_all_correspondence"
VIEW_CONFIDENTIAL = f"{APP}.view_confidential_correspondence"
RESTORE = f"{APP}.restore_correspondence"
EXPORT = f"{APP}.export_correspondence"


def workers():
    """Active users who may work register entries (assignees, round-robin members)."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(groups__permissions__codename="change_correspondence")
        | Q(user_permissions__codename="change_correspondence")).distinct()


def user_departments(user):
    """The departments a user is a member of, read once per user object (a request)."""
    cached = getattr(user, "_correspondence_departments", None)
    if cached is None:
        cached = list(Department.objects.filter(members=user)) if user.pk else []
        try:
            user._correspondence_departments = cached
        except AttributeError:  # AnonymousUser and friends
            pass
    return cached


def scope_key(user):
    """A text naming what ``visible_entries`` shows ``user``, for caching what is counted in a
    scope: people who see every entry share one key; anyone else has their own, which changes
    with their departments and permissions."""
    if not user.is_active or not user.has_perm(VIEW):
        return "none"
    sees_all, sees_confidential = user.has_perm(VIEW_ALL), user.has_perm(VIEW_CONFIDENTIAL)
    if sees_all and sees_confidential:
        return "all"
    departments = ",".join(sorted(str(department.pk) for department in user_departments(user)))
    return f"user-{user.pk}-{departments}-{int(sees_all)}{int(sees_confidential)}"


def department_scope(user):
    """Q matching the departments a user works in and every department below them."""
    query = Q(pk__in=[])
    for department in user_departments(user):
        query |= Q(path__startswith=department.path)
    return query


def visible_entries(user, queryset=None):
    queryset = Correspondence.objects.all() if queryset is None else queryset
    if not user.is_active or not user.has_perm(VIEW):
        return queryset.none()
    mine = Q(assignee=user) | Q(created_by=user)
    if not user.has_perm(VIEW_ALL):
        departments = Department.objects.filter(department_scope(user))
        queryset = queryset.filter(Q(department__in=departments) | mine)
    if not user.has_perm(VIEW_CONFIDENTIAL):
        queryset = queryset.filter(~Q(confidentiality=Confidentiality.SECRET) | mine)
    return queryset


class _Uncounted:
    """``capped_count``'s answer when counting took longer than ``COUNT_TIME_LIMIT_MS``."""

    def __repr__(self):
        return "UNCOUNTED"

    def __bool__(self):
        return True  # there are entries: the count was only too slow to finish


UNCOUNTED = _Uncounted()


def count_limit(searched=False):
    """Up to how many entries a list counts exactly: ``SEARCH_COUNT_LIMIT`` for a searched list,
    ``EXACT_COUNT_LIMIT`` otherwise."""
    register = get_setting("REGISTER")
    return register["SEARCH_COUNT_LIMIT" if searched else "EXACT_COUNT_LIMIT"]


def capped_count(queryset, limit=None):
    """How many rows ``queryset`` has: exact up to ``limit`` (default
    ``REGISTER["EXACT_COUNT_LIMIT"]``, see ``count_limit``), ``None`` above it. Counting stops
    at the limit, so a list of a million entries costs what a list of ten thousand does; lists
    say "more than" instead of a number nobody reads.

    On PostgreSQL the count is also given ``REGISTER["COUNT_TIME_LIMIT_MS"]``: a search for a
    common word across a large scope can take longer to count than the page takes to show,
    and the count is then ``UNCOUNTED`` (the list shows its pages without a total).

    A list found larger than the limit, or too slow to count, is remembered as such for
    ``REGISTER["LARGE_COUNT_SECONDS"]``: its next pages do not count again. Counting up to the
    limit in an officer's scope of a million entries reads ten thousand index entries (20 ms of
    every page), for an answer ("more than 10,000") that stays true for much longer. The
    remembered answer is keyed by the count's SQL, which names the user's scope and filters."""
    register = get_setting("REGISTER")
    limit = count_limit() if limit is None else limit
    counting = queryset.order_by()[:limit + 1]
    database = connections[queryset.db]
    seconds = register["LARGE_COUNT_SECONDS"]
    key = _large_count_key(counting, limit) if seconds else None
    remembered = cache.get(key) if key else None
    if remembered is not None:
        return UNCOUNTED if remembered == "uncounted" else None
    if database.vendor == "postgresql" and register["COUNT_TIME_LIMIT_MS"]:
        counted = _count_within(counting, database, register["COUNT_TIME_LIMIT_MS"])
    else:
        counted = counting.count()
    if key and (counted is UNCOUNTED or counted > limit):
        cache.set(key, "uncounted" if counted is UNCOUNTED else "more", seconds)
    if counted is UNCOUNTED:
        return UNCOUNTED
    return counted if counted <= limit else None


def _large_count_key(counting, limit):
    sql, params = counting.query.sql_with_params()
    digest = hashlib.sha256(f"{counting.db}\n{limit}\n{sql}\n{params!r}".encode()).hexdigest()
    return f"correspondence-large-count:{digest}"


def _count_within(queryset, database, milliseconds):
    with transaction.atomic(using=database.alias):
        with database.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, true)",
                           [f"{int(milliseconds)}ms"])
            before = cursor.fetchone()[0]
        try:
            with transaction.atomic(using=database.alias):  # a savepoint: a cancelled count ends only itself
                return queryset.count()
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != "57014":  # query_canceled
                raise
            return UNCOUNTED
        finally:
            with database.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [before])


def page_of(queryset, bottom, top):
    """The entries ``bottom`` to ``top`` of ``queryset`` in its order: their keys first, then
    those rows. The keys are found in the list-order index, which on PostgreSQL also holds
    every column the scope and the deadline filters test, without reading a row of the table;
    only the rows shown are read. Asked for whole rows at once, the database reads every row
    it skips or rejects: page 200 of an officer's list, or an overdue list where the
    planner guesses a hundred times more matches than there are, read 40,000 rows for 50."""
    keys = list(queryset.values_list("pk", flat=True)[bottom:top])
    rows = queryset.order_by().in_bulk(keys)
    return [rows[key] for key in keys if key in rows]


def can_view(user, entry):
    return visible_entries(user, Correspondence.objects.filter(pk=entry.pk)).exists()


def can_register(user):
    return user.is_active and user.has_perm(ADD)


def can_change(user, entry):
    return user.is_active and user.has_perm(CHANGE) and can_view(user, entry)


def can_assign(user, entry):
    """Assigning to others needs the assign permission; anyone who works an entry may take
    an unassigned one of their scope."""
    return user.is_active and user.has_perm(ASSIGN) and can_view(user, entry)


def can_restore(user, entry):
    return user.is_active and user.has_perm(RESTORE) and user.has_perm(CHANGE) and can_view(user, entry)


def can_export(user):
    return user.is_active and user.has_perm(EXPORT)


def require(allowed, message):
    if not allowed:
        raise PermissionDenied(message)


# Searched by words: every word must appear (case-insensitive) in one of these.
SEARCHED_FIELDS = ["reference", "subject", "body", "sender_name", "sender_organisation", "sender_email",
                   "customer_id", "external_reference"]


def search_entries(queryset, query):
    """Entries of ``queryset`` matching ``query``, for the admin, the API and exports alike:
    every word must be found, by the search index (words and their stems, word beginnings,
    ``search_backend.index_matches``) or, for entries changed in the last
    ``SEARCH_INDEX_LAG_MINUTES``, which the index may not have caught up with yet, as text in
    one of ``SEARCHED_FIELDS``. The index only answers which entries match; ``queryset``
    (the user's scope and filters) decides which of them are shown, so search never widens a
    scope and never stops at the first few thousand matches of the whole register."""
    from django.utils import timezone

    from ..search_backend import index_matches
    from .register_search import document_search_available

    # A NUL byte can be typed (%00) but stored nowhere (PostgreSQL refuses it in any text).
    words = (query or "").replace("\x00", " ").split()[:10]
    if not words:
        return queryset
    if document_search_available(queryset.db):
        return _search_documents(queryset, words)
    since = timezone.now() - timedelta(minutes=get_setting("REGISTER")["SEARCH_INDEX_LAG_MINUTES"])
    for word in words:
        as_text = Q()
        for name in SEARCHED_FIELDS:
            as_text |= Q(**{f"{name}__icontains": word})
        try:
            indexed = index_matches(Correspondence, word)
        except Exception:  # noqa: BLE001 - an unavailable search backend must not break the list
            logger.exception("The search backend failed; searching %r as text in every entry", word)
            queryset = queryset.filter(as_text)
            continue
        if indexed is None:  # a word the index leaves out (a stop word)
            continue
        as_identifier = _as_identifier(word)
        # Each subquery of the index is read once into a hash, against which the entries of the
        # scope are tested in list order. (Starting from the matches instead, as a UNION of them
        # joined to the scope, was slower: the scope's rows are then read in no useful order.)
        found = as_identifier | (Q(updated_at__gte=since) & as_text)
        for matches in indexed:
            found |= Q(pk__in=matches)
        queryset = queryset.filter(found)
    return queryset


def _as_identifier(word):
    """Reference numbers and customer ids are not words to a search index: they are matched as
    typed or in capitals, references by their beginning (all through their own indexes)."""
    return (Q(reference__startswith=word) | Q(reference__startswith=word.upper())
            | Q(customer_id=word) | Q(customer_id=word.upper()))


def _search_documents(queryset, words):
    """``search_entries`` on PostgreSQL: every word matched in the entries' own search document
    (``services.register_search``), always current, so no text match of recent entries is
    needed; identifiers as everywhere else."""
    from .register_search import document_matches, document_queries

    try:
        with transaction.atomic(using=queryset.db):  # a savepoint: a failure leaves the request usable
            tsqueries = document_queries(words, using=queryset.db)
    except Exception:  # noqa: BLE001 - search must answer, even if only by identifiers
        logger.exception("Could not turn %r into text search queries; matching identifiers only", words)
        tsqueries = [None] * len(words)
    table = queryset.model._meta.db_table
    for word, tsquery in zip(words, tsqueries):
        found = _as_identifier(word)
        if tsquery is None:  # a stop word or punctuation: nothing to find in the text
            if not any(tsqueries):
                queryset = queryset.filter(found)
            continue
        queryset = queryset.filter(found | Q(document_matches(tsquery, table)))
    return queryset
