"""Content authors and administrators translate the wording library: wagtail-localize's
"Translate" (on fragments, layouts and templates) asks for its ``submit_translation``
permission. A translation goes through the review like any other change of wording."""

from django.db import migrations

GROUPS = ["Content authors", "Administrators"]


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    # The content type wagtail-localize hangs its permission on (its migration 0006).
    content_type, _ = ContentType.objects.get_or_create(app_label="wagtail_localize", model="translation")
    permission, _ = Permission.objects.get_or_create(content_type=content_type, codename="submit_translation",
                                                     defaults={"name": "Can submit translations"})
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(content_type__app_label="wagtail_localize",
                                           codename="submit_translation").first()
    if permission is not None:
        for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
            group.permissions.remove(permission)


class Migration(migrations.Migration):

    dependencies = [
        ("wagtail_correspondence", "0037_translatable_fragments_and_layouts"),
        ("wagtail_localize", "0006_create_submit_translation_permission"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
