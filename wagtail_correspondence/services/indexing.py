"""Objects written in bulk into Wagtail's indexes: ``bulk_create`` sends no ``post_save``, so
what Wagtail's signal handlers would have done for each object (a search-index update and a
reference-index task per object) is done here for all of them at once."""

import logging

from django.contrib.contenttypes.models import ContentType
from modelcluster.models import ClusterableModel, get_all_child_relations

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

    # A model may keep some objects out of the search index (entries, where PostgreSQL
    # searches their own document); their references are indexed all the same.
    searched = [obj for obj in objects if obj.get_indexed_instance() is not None] if hasattr(
        model, "get_indexed_instance") else objects
    for backend in get_search_backends(with_auto_update=True) if searched else ():
        try:
            backend.add_bulk(model, searched)
        except Exception:  # noqa: BLE001 (see above)
            logger.exception("Could not index %s %s", len(searched), model._meta.verbose_name_plural)
    if ReferenceIndex.is_indexed(model):
        from ..tasks import INDEX_PRIORITY, enqueue_with_priority, index_references_task

        try:
            enqueue_with_priority(index_references_task, INDEX_PRIORITY, model._meta.label, [obj.pk for obj in objects])
        except Exception:  # noqa: BLE001 (see above)
            logger.exception("Could not queue the reference index of %s objects", len(objects))


def index_references(model_label, ids):
    """Wagtail's reference index for the objects ``ids`` of ``model_label``, as
    ``ReferenceIndex.create_or_update_for_object`` would leave it for each, in a few statements
    for all of them instead of three per object: the objects (with their child rows), the
    references already recorded, one insert of the new ones and one delete of the gone ones. (The references themselves are
    extracted by Wagtail, so the index holds exactly what Wagtail would record.)"""
    from django.apps import apps
    from django.db import connection, transaction
    from wagtail.models import ReferenceIndex

    model = apps.get_model(model_label)
    # Wagtail reads the child rows (an entry's tags) of each object: one query per relation
    # for all of them instead of one per object.
    children = [relation.get_accessor_name() for relation in get_all_child_relations(model)] if issubclass(
        model, ClusterableModel) else []
    objects = list(model.objects.filter(pk__in=ids).prefetch_related(*children))
    if not objects:
        return 0
    content_types = [ContentType.objects.get_for_model(cls, for_concrete_model=False)
                     for cls in [model, *model._meta.get_parent_list()]]
    content_type, base = content_types[0], content_types[-1]
    known = {ct.pk for ct in content_types}
    with transaction.atomic():
        existing = {}
        for pk, ct_id, object_id, *record in ReferenceIndex.objects.filter(
                base_content_type=base, object_id__in=[str(obj.pk) for obj in objects]).values_list(
                "pk", "content_type_id", "object_id", "to_content_type_id", "to_object_id", "model_path",
                "content_path"):
            existing.setdefault(object_id, {})[tuple(record)] = (ct_id, pk)
        new, gone = [], []
        for obj in objects:
            found = set(ReferenceIndex._extract_references_from_object(obj))
            recorded = existing.get(str(obj.pk), {})
            new.extend(ReferenceIndex(
                content_type=content_type, base_content_type=base, object_id=obj.pk, to_content_type_id=ct_id,
                to_object_id=to_id, model_path=model_path, content_path=content_path,
                content_path_hash=ReferenceIndex._get_content_path_hash(content_path))
                for ct_id, to_id, model_path, content_path in found - set(recorded))
            # A record made under a more specific model than this one is not ours to remove
            # (Wagtail's rule: the reference may live on a relation only the subclass has).
            gone.extend(pk for record, (ct_id, pk) in recorded.items() if record not in found and ct_id in known)
        ReferenceIndex.objects.bulk_create(new, batch_size=500,
                                           ignore_conflicts=connection.features.supports_ignore_conflicts)
        if gone:
            ReferenceIndex.objects.filter(pk__in=gone).delete()
    return len(objects)
