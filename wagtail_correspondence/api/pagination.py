"""Pages of the register list: keyset pages by default, numbered (offset) pages on request.

A register grows to millions of entries. ``OFFSET 900000`` makes the database read and drop
900,000 rows, and an exact ``COUNT(*)`` reads every row in scope on every page, so both get
slower as the register grows. Keyset pages (``?cursor=``, followed through the ``next`` and
``previous`` links) continue from the last entry of the page before, in the list's order
(newest first); the thousandth page costs what the first does. ``?offset=`` still gives
numbered pages for clients that were written for them. Either way ``count`` is exact up to
``count_limit`` entries and ``null`` beyond, or when counting took longer than
``COUNT_TIME_LIMIT_MS`` (``register_access.capped_count``); a search (``?q=``) counts up to
``SEARCH_COUNT_LIMIT``. Numbered pages reach as far as ``EXACT_COUNT_LIMIT`` entries: beyond
that the cursor links go on, at the cost of a page wherever they are.
"""

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from ..conf import get_setting
from ..services.register_access import UNCOUNTED, capped_count, count_limit, page_of


class CountedPages:
    """``count`` and ``count_limit`` beside ``next``, ``previous`` and ``results``."""

    def count_entries(self, queryset, request):
        self.count_limit = count_limit(searched=bool(request.query_params.get("q", "").strip()))
        return capped_count(queryset, self.count_limit)

    def paginated(self, data, next_link, previous_link):
        count = None if self.count is UNCOUNTED else self.count
        return Response({"count": count, "count_limit": self.count_limit,
                         "next": next_link, "previous": previous_link, "results": data})

    @staticmethod
    def counted_schema(schema):
        schema["properties"]["count"] = {
            "type": "integer", "nullable": True, "example": 123,
            "description": "How many entries match, counted exactly up to count_limit; null when more do, "
                           "or when counting took too long"}
        schema["properties"]["count_limit"] = {"type": "integer", "example": 10000}
        schema["required"] = ["count", "count_limit", "results"]
        return schema


class NumberedRegisterPages(CountedPages, LimitOffsetPagination):
    max_limit = 500

    def get_count(self, queryset):
        counted = self.count_entries(queryset, self.request)
        self.counted = None if counted is UNCOUNTED else counted
        # Past the limit (or the time to count) the pages go on as far as they are asked for.
        if self.counted is None:
            return self.get_offset(self.request) + (self.limit or 0) + 1
        return self.counted

    def paginate_queryset(self, queryset, request, view=None):
        self.request, self.queryset = request, queryset
        self.limit = self.get_limit(request)
        self.offset = self.get_offset(request)
        reach = get_setting("REGISTER")["EXACT_COUNT_LIMIT"]
        if self.offset > reach:
            raise ValidationError({self.offset_query_param: [
                f"Numbered pages reach the first {reach} entries of a list; follow the cursor links (leave out "
                f"offset) to go further, or narrow the list with its filters."]})
        self.count = self.counted = None
        self.page = []
        if self.limit is None:
            return None
        self.get_count(queryset)
        self.count = self.counted
        if self.count is not None and (self.count == 0 or self.offset > self.count):
            return self.page
        self.page = page_of(queryset, self.offset, self.offset + self.limit)
        return self.page

    def get_next_link(self):
        if self.count is None:  # more than the limit: a full page may have a next one
            if len(self.page) < self.limit:
                return None
            if self.offset + self.limit > get_setting("REGISTER")["EXACT_COUNT_LIMIT"]:
                return self.cursor_after_page()
            url = replace_query_param(self.request.build_absolute_uri(), self.limit_query_param, self.limit)
            return replace_query_param(url, self.offset_query_param, self.offset + self.limit)
        return super().get_next_link()

    def cursor_after_page(self):
        """Where numbered pages stop, ``next`` goes on as a cursor link from this page's last
        entry (DRF's own cursor, so the pages after it are cursor pages)."""
        following = page_of(self.queryset, self.offset + self.limit, self.offset + self.limit + 1)
        if not following:
            return None
        pages = RegisterPagination()
        pages.base_url = remove_query_param(self.request.build_absolute_uri(), self.offset_query_param)
        pages.page, pages.page_size, pages.ordering = self.page, self.limit, RegisterPagination.ordering
        pages.has_next, pages.has_previous, pages.cursor = True, False, None
        pages.next_position = pages._get_position_from_instance(following[0], pages.ordering)
        return pages.get_next_link()

    def get_paginated_response(self, data):
        return self.paginated(data, self.get_next_link(), self.get_previous_link())

    def get_paginated_response_schema(self, schema):
        return self.counted_schema(super().get_paginated_response_schema(schema))


class KeysFirst:
    """A queryset whose slices are read keys first (``register_access.page_of``): all that DRF's
    cursor pages ask of it is an order, a filter on the position, and a slice. A filtered page
    (``?overdue=true``) then finds its keys in the list-order index instead of reading every
    row it rejects (42,000 rows for 50 at a million entries)."""

    def __init__(self, queryset):
        self.queryset = queryset

    def order_by(self, *fields):
        return KeysFirst(self.queryset.order_by(*fields))

    def filter(self, *args, **kwargs):
        return KeysFirst(self.queryset.filter(*args, **kwargs))

    def __getitem__(self, index):
        if isinstance(index, slice) and index.step is None:
            return page_of(self.queryset, index.start or 0, index.stop)
        return self.queryset[index]

    def __getattr__(self, name):  # anything else (the model, for an ordering filter) as the queryset has it
        return getattr(self.queryset, name)


class RegisterPagination(CountedPages, CursorPagination):
    """Keyset pages, newest first (the list's order, with the primary key breaking ties); with
    ``?offset=``, numbered pages instead."""

    ordering = ("-registered_at", "-pk")
    page_size_query_param = "limit"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        self.numbered = None
        if NumberedRegisterPages.offset_query_param in request.query_params:
            self.numbered = NumberedRegisterPages()
            return self.numbered.paginate_queryset(queryset, request, view)
        self.count = self.count_entries(queryset, request)
        return super().paginate_queryset(KeysFirst(queryset), request, view)

    def decode_cursor(self, request):
        # DRF checks a cursor's form; its position is checked here too, so that a made-up one
        # ("p=2026") is "Invalid cursor" like any other, not a database error about dates.
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and parse_datetime(cursor.position) is None:
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def get_paginated_response(self, data):
        if self.numbered is not None:
            return self.numbered.get_paginated_response(data)
        return self.paginated(data, self.get_next_link(), self.get_previous_link())

    def get_paginated_response_schema(self, schema):
        return self.counted_schema(super().get_paginated_response_schema(schema))

    def get_schema_operation_parameters(self, view):
        numbered = NumberedRegisterPages().get_schema_operation_parameters(view)
        offset = [parameter for parameter in numbered if parameter["name"] == "offset"]
        for parameter in offset:
            parameter["schema"]["description"] = parameter["description"] = (
                "Numbered pages instead of cursor pages: skip this many entries (slower far into a large register)")
        return super().get_schema_operation_parameters(view) + offset
