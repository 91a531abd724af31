"""Forms posted to the Wagtail admin, checked for JSON nested past the limit before any view
reads them (json_limits.py). Wagtail's own widgets parse JSON from the form: the rich text
editor's content state, the table block; a crafted post nested a few thousand levels deep
made the fragment editor answer 500 (RecursionError in Wagtail's converter). Such a post
gets a 400 naming the field and the path instead.

Views whose forms report nesting themselves, inline and in their own format (the letter
builder and its previews), say so with ``reports_deep_json = True`` and are left to it.

Install after Django's CSRF and authentication middleware::

    "wagtail_correspondence.middleware.BoundedJSONFormMiddleware",

(the reference site does; ``manage.py check`` warns, W032, when it is missing)."""

from django.http import HttpResponseBadRequest
from django.urls import NoReverseMatch, reverse

from . import json_limits, public_urls

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def admin_prefix():
    try:
        return reverse("wagtailadmin_home")
    except NoReverseMatch:
        return None


class BoundedJSONFormMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        prefix = admin_prefix()
        if (request.method not in ("POST", "PUT", "PATCH") or request.content_type not in FORM_TYPES
                or prefix is None or not request.path_info.startswith(prefix)):
            return None
        if getattr(getattr(view_func, "view_class", None), "reports_deep_json", False):
            return None
        for name, values in request.POST.lists():
            for value in values:
                if value.lstrip()[:1] not in ("[", "{"):
                    continue  # not JSON: nothing nests
                try:
                    json_limits.check_text(value, path=name)
                except json_limits.JSONTooDeep as exc:
                    return HttpResponseBadRequest(f"{exc.message}.\n", content_type="text/plain; charset=utf-8")
        return None


class RequestOriginMiddleware:
    """Lets the services know the address of the request they work for: a letter generated
    in a request records it on its portal dispatch, so that the link emailed later (by a
    worker) leads back to the site the agent used, on its host and port, when no public
    address is configured (public_urls.py). Install anywhere in MIDDLEWARE::

        "wagtail_correspondence.middleware.RequestOriginMiddleware",
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with public_urls.serving(request):
            return self.get_response(request)
