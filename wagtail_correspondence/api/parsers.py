"""Request parsers of the API: DRF's, with JSON nested past the limit refused before it is
parsed (json_limits.py). Every view of the API sets ``parser_classes = PARSERS``, so the
plugin protects itself whatever a project's REST_FRAMEWORK settings say; the reference site
makes the bounded parser DRF's default as well."""

import io

from django.conf import settings
from rest_framework import exceptions, parsers

from .. import json_limits


def too_deep(exc):
    """The 400 body for JSON nested past the limit: the path as the field, and a sentence."""
    field = exc.path or "non_field_errors"
    return exceptions.ValidationError({field: [exc.short_message], "detail": exc.message})


class BoundedJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read()
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        try:
            json_limits.check_text(text)
        except json_limits.JSONTooDeep as exc:
            raise too_deep(exc) from None
        return super().parse(io.BytesIO(raw), media_type, parser_context)


PARSERS = [BoundedJSONParser, parsers.FormParser, parsers.MultiPartParser]
