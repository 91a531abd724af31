"""The rendering engine as the models see it: a port, filled when the app is ready.

The engine (``rendering/``) sits a layer above the models: it reads fragments, layouts,
dictionaries and their revisions. A few model methods that Django and Wagtail call on their
own need it all the same: ``clean()`` on every save (merge fields checked, a routing
condition parsed) and ``get_preview_context()`` on every preview path (Wagtail's preview
panel, revision and workflow previews). They reach the engine through ``engine()``, which
``rendering.model_engine.connect()`` fills from ``AppConfig.ready``, so the models never
import the rendering package and the layers stay acyclic (see docs/architecture.md, "Layers").
"""

from django.core.exceptions import ImproperlyConfigured

_engine = None


def connect(implementation):
    """Called once, by ``rendering.model_engine.connect()``. ``implementation`` offers
    ``MergeError``, ``check_fragment_body``, ``render_fragment_body``,
    ``check_letter_template``, ``render_template_preview``, ``render_letter_document`` and
    ``parse_expression``, with the signatures of the rendering modules that define them."""
    global _engine
    _engine = implementation


def engine():
    if _engine is None:
        raise ImproperlyConfigured("The rendering engine is not connected to the models: the app's "
                                   "AppConfig.ready() has not run (is wagtail_correspondence in INSTALLED_APPS?).")
    return _engine
