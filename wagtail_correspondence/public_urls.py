"""The site's public address, which links sent to customers (the portal's) start with.

In order: ``WAGTAIL_CORRESPONDENCE["PORTAL"]["BASE_URL"]`` when set (production: the address
customers reach, whatever host a worker or an agent used); else the address of the request
that generated the letter, recorded on its dispatch (``middleware.RequestOriginMiddleware``), so that a
site run on any host and port links to itself; else ``WAGTAILADMIN_BASE_URL`` (letters
generated outside a request: batches, commands). Django has validated a request's host
against ``ALLOWED_HOSTS`` before it is recorded."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import DisallowedHost

from .conf import get_setting

_current_request = ContextVar("wagtail_correspondence_current_request", default=None)


def configured_base_url():
    return (get_setting("PORTAL")["BASE_URL"] or "").rstrip("/")


def request_origin():
    """``scheme://host[:port]`` of the request being answered, or "" outside a request."""
    request = _current_request.get()
    if request is None:
        return ""
    try:
        return request.build_absolute_uri("/").rstrip("/")
    except DisallowedHost:
        return ""


def base_url(recorded_origin=""):
    """Where a link starts, given the origin recorded when its letter was generated."""
    return (configured_base_url() or recorded_origin.rstrip("/") or request_origin()
            or (getattr(settings, "WAGTAILADMIN_BASE_URL", "") or "").rstrip("/"))


@contextmanager
def serving(request):
    """The services see ``request`` as the current request inside this block."""
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)
