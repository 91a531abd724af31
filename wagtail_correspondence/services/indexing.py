"""Objects written in bulk into Wagtail's indexes: ``bulk_create`` sends no ``post_save``, so
what Wagtail's signal handlers would have done for each object (a search-index update and a
reference-index task per object) is done here for all of them at once."""

import logging

logger = logging.getLogger(__name__)


def index_in_bulk(model, objects):
    """After the commit that wrote ``objects``: into every auto-updated search backend in one
    call, and their references into Wagtail's reference index by one background task. A
    failure is logged, never raised (the rows are written; ``update_index`` and
    ``rebuild_references_index`` rebuild what is missing)."""
    if not objects:
        return
    from wagtail.models import ReferenceIndex
    from wagtail.search.backends import get_search_backends

    for backend in get_search_backends(with_auto_update=True):
        try:
            backend.add_bulk(model, objects)
        except Exception:  # noqa: BLE001 (see above)
            logger.exception("Could not index %s %s", len(objects), model._meta.verbose_name_plural)
    if ReferenceIndex.is_indexed(model):
        from ..tasks import INDEX_PRIORITY, enqueue_with_priority, index_references_task

        try:
            enqueue_with_priority(index_references_task, INDEX_PRIORITY, model._meta.label, [obj.pk for obj in objects])
        except Exception:  # noqa: BLE001 (see above)
            logger.exception("Could not queue the reference index of %s objects", len(objects))


def index_references(model_label, ids):
    from django.apps import apps
    from wagtail.models import ReferenceIndex

    model = apps.get_model(model_label)
    count = 0
    for obj in model.objects.filter(pk__in=ids).iterator(chunk_size=200):
        ReferenceIndex.create_or_update_for_object(obj)
        count += 1
    return count
