"""Objects written in bulk into Wagtail's indexes: ``bulk_create`` sends no ``post_save``, so
what Wagtail's signal handlers would have done for each object (a search-index update and a
reference-index task per object) is done here for all of them at once."""

import logging

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import prefetch_related_objects
from modelcluster.models import ClusterableModel, get_all_child_relations

logger = logging.getLogger(__name__)


def index_in_bulk(model, objects, *, references=True):
    """After the commit that wrote ``objects``: into every auto-updated search backend in one
    call, and (unless ``references`` is False: ``index_new_references`` recorded them already)
    their references into Wagtail's reference index by one background task. A failure is
    logged, never raised (the rows are written; ``update_index`` and
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
    if references and ReferenceIndex.is_indexed(model):
        from ..tasks import INDEX_PRIORITY, enqueue_with_priority, index_references_task

        try:
            enqueue_with_priority(index_references_task, INDEX_PRIORITY, model._meta.label, [obj.pk for obj in objects])
        except Exception:  # noqa: BLE001 (see above)
            logger.exception("Could not queue the reference index of %s objects", len(objects))


def index_new_references(model, objects):
    """Wagtail's reference index records of ``objects``, created just now in the current
    transaction: one insert, committed with them. New objects have no records yet, so
    nothing is read or removed, and the objects are not read again (their child rows are,
    in one query per relation, unless they are in memory). Registering an entry costs one
    statement here instead of a task and a second transaction that reads it back."""
    from wagtail.models import ReferenceIndex

    if not objects or not ReferenceIndex.is_indexed(model):
        return 0
    children = _child_relations(model)
    unread = [obj for obj in objects
              if any(name not in getattr(obj, "_cluster_related_objects", {}) for name in children)]
    if unread:
        prefetch_related_objects(unread, *children)
    content_type, base, _known = _content_types(model)
    new = [_record(content_type, base, obj, found)
           for obj in objects for found in set(ReferenceIndex._extract_references_from_object(obj))]
    ReferenceIndex.objects.bulk_create(new, batch_size=500,
                                       ignore_conflicts=connection.features.supports_ignore_conflicts)
    return len(new)


def _child_relations(model):
    return [relation.get_accessor_name() for relation in get_all_child_relations(model)] if issubclass(
        model, ClusterableModel) else []


def _content_types(model):
    """The model's content type, its base model's (the reference index's key) and all of its
    lineage's ids."""
    content_types = [ContentType.objects.get_for_model(cls, for_concrete_model=False)
                     for cls in [model, *model._meta.get_parent_list()]]
    return content_types[0], content_types[-1], {ct.pk for ct in content_types}


def _record(content_type, base, obj, found):
    from wagtail.models import ReferenceIndex

    ct_id, to_id, model_path, content_path = found
    return ReferenceIndex(
        content_type=content_type, base_content_type=base, object_id=obj.pk, to_content_type_id=ct_id,
        to_object_id=to_id, model_path=model_path, content_path=content_path,
        content_path_hash=ReferenceIndex._get_content_path_hash(content_path))


def index_references(model_label, ids):
    """Wagtail's reference index for the objects ``ids`` of ``model_label``, as
    ``ReferenceIndex.create_or_update_for_object`` would leave it for each, in a few statements
    for all of them instead of three per object: the objects (with their child rows), the
    references already recorded, one insert of the new ones and one delete of the gone ones. (The references themselves are
    extracted by Wagtail, so the index holds exactly what Wagtail would record.)"""
    from django.apps import apps
    from wagtail.models import ReferenceIndex

    model = apps.get_model(model_label)
    # Wagtail reads the child rows (an entry's tags) of each object: one query per relation
    # for all of them instead of one per object.
    objects = list(model.objects.filter(pk__in=ids).prefetch_related(*_child_relations(model)))
    if not objects:
        return 0
    content_type, base, known = _content_types(model)
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
            new.extend(_record(content_type, base, obj, record) for record in found - set(recorded))
            # A record made under a more specific model than this one is not ours to remove
            # (Wagtail's rule: the reference may live on a relation only the subclass has).
            gone.extend(pk for record, (ct_id, pk) in recorded.items() if record not in found and ct_id in known)
        ReferenceIndex.objects.bulk_create(new, batch_size=500,
                                           ignore_conflicts=connection.features.supports_ignore_conflicts)
        if gone:
            ReferenceIndex.objects.filter(pk__in=gone).delete()
    return len(objects)
