"""django-reversion versions written in bulk, where many objects are created at once."""

from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.utils import timezone
from django.utils.encoding import force_str
from reversion.models import Revision, Version
from reversion.revisions import _get_options  # the registration's format, fields and follow


def save_first_versions(items, *, user=None, using="default"):
    """The first version of many new objects at once: one revision each (its user, comment
    and date, as ``reversion.create_revision()`` around each save would leave them), in two
    inserts for all of them instead of three statements per object.

    ``items``: (object, followed objects, comment), the objects saved already. The followed
    objects are those of the model's ``follow`` (an entry's tag rows): the caller knows them,
    so nothing is read back. Each version is serialised exactly as django-reversion does
    (its registration's format and fields; ``tests/test_register_bulk.py`` compares the rows)."""
    items = list(items)
    if not items:
        return []
    now = timezone.now()
    revisions = Revision.objects.using(using).bulk_create([
        Revision(date_created=now, user=user if user is not None and user.pk else None, comment=comment)
        for _obj, _followed, comment in items])
    versions = []
    for revision, (obj, followed, _comment) in zip(revisions, items):
        for member in [obj, *followed]:
            options = _get_options(type(member))
            versions.append(Version(
                revision=revision,
                content_type=ContentType.objects.db_manager(using).get_for_model(
                    type(member), for_concrete_model=options.for_concrete_model),
                object_id=force_str(getattr(member, options.object_id_field)), db=using, format=options.format,
                serialized_data=serializers.serialize(options.format, (member,), fields=options.fields,
                                                      use_natural_foreign_keys=options.use_natural_foreign_keys),
                object_repr=force_str(member)))
    Version.objects.using(using).bulk_create(versions, batch_size=500)
    return revisions
