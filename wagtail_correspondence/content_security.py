"""Content-Security-Policy of the responses that show rendered content, and of the portal.

Rendered fragments, layouts, templates and letters are HTML that authors and customer data
shaped. The sandbox escapes merge fields, but the browser is the last line: whatever markup
the rendering lets through, nothing in it may run in the admin's or the portal's origin.

- Previews (Wagtail's preview panel, a preview opened in a new tab, revision and workflow
  previews) and the builder's preview endpoints answer with the ``RENDERED`` policy: no script
  at all, and ``sandbox`` so that even a browser ignoring ``script-src`` treats the document as
  sandboxed (no scripts, forms, popups or top navigation).
- Rendered content inside admin and portal pages sits in ``<iframe sandbox="" srcdoc=...>``;
  :func:`framed_document` puts the same policy in the frame's own ``<meta>`` as its first
  element, on top of the page's policy that a ``srcdoc`` document inherits.
- Portal pages answer with the ``PORTAL`` policy; the API's documentation pages with
  ``API_DOCS``.

The plugin sets these headers itself, so they hold in any project, with or without
django-csp's middleware (which leaves a response's own header alone). Each policy can be
changed with ``WAGTAIL_CORRESPONDENCE["CONTENT_SECURITY_POLICY"]`` (django-csp's directive
format); :func:`policy` formats it with django-csp.
"""

from functools import wraps

from csp.constants import HEADER
from csp.utils import build_policy
from django.conf import settings
from django.utils.html import escape

from .conf import get_setting

# Directives a <meta http-equiv> policy cannot carry (browsers ignore them there).
NOT_IN_META = {"sandbox", "frame-ancestors", "report-uri", "report-to"}


def directives(kind):
    """The directives of one policy kind ("RENDERED", "PORTAL", "API_DOCS")."""
    return get_setting("CONTENT_SECURITY_POLICY")[kind]


def policy(kind, meta=False):
    """The header value of one policy kind; with ``meta``, without what <meta> cannot carry."""
    config = directives(kind)
    if meta:
        config = {name: value for name, value in config.items() if name not in NOT_IN_META}
    return build_policy(config=config)


def with_policy(response, kind):
    """Give a response its own policy (replacing any); middleware then leaves it alone."""
    response[HEADER] = policy(kind)
    return response


def uses_policy(kind):
    """View decorator: every response of the view carries the policy ``kind``."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            return with_policy(view(*args, **kwargs), kind)

        return wrapped

    return decorator


# Sources that let inline script run. Wagtail's admin needs them on most pages (its form
# widgets start with inline <script>), not on the pages that show rendered content.
INLINE_SCRIPT_SOURCES = {"'unsafe-inline'", "'unsafe-hashes'"}


def without_inline_script(view):
    """View decorator for admin pages that show rendered content and have no inline script of
    their own (compare, builder, letter page): the site's django-csp policy, less any source that
    lets inline script run. A project's other sources (a CDN, nonces) are kept; without
    django-csp's middleware this does nothing."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        response = view(*args, **kwargs)
        configured = (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("DIRECTIVES") or {}
        replace = {}
        for name in ("script-src", "script-src-elem"):
            if configured.get(name) is not None:
                replace[name] = [source for source in configured[name] if source not in INLINE_SCRIPT_SOURCES] or [
                    "'none'"]
        replace.update(getattr(response, "_csp_replace", None) or {})
        response._csp_replace = replace  # django-csp's per-response replacement
        return response

    return wrapped


# How a fragment body (not a whole document) reads in a frame: like the letter body text.
FRAGMENT_STYLE = (
    'body { font-family: "DejaVu Sans", Arial, sans-serif; line-height: 1.45; color: #1d1d1b; margin: 1rem 1.25rem; }'
    " table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #ccc; padding: 3px 6px; }"
    " .page-break { border-top: 1px dashed #aaa; margin: 2em 0; }"
    " .render-problem { color: #cd4444; border: 1px solid #cd4444; padding: .5rem; }"
)


def framed_document(html, title=""):
    """The document for an ``<iframe sandbox="" srcdoc=...>``: the ``RENDERED`` policy in a
    <meta> before anything else, then ``html``: a whole document (a letter) or the body of
    one (a rendered fragment, given the letter's reading styles).

    A plain string that the page template escapes into the ``srcdoc`` attribute; the
    rendered HTML inside is deliberately kept as markup, to be parsed by the browser in the
    sandboxed frame only, where nothing can run."""
    html = str(html)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{escape(policy("RENDERED", meta=True))}">'
    if html.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
        # The meta must come first: a policy applies from where it is parsed on. The letter's
        # own doctype and <html> after it are folded into this document by the parser.
        return f"<!DOCTYPE html>{meta}{html}"
    return (f'<!DOCTYPE html><html><head>{meta}<meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{FRAGMENT_STYLE}</style></head><body>{html}</body></html>")
