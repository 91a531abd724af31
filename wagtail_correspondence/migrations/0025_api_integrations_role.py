from django.db import migrations

ROLE = "API integrations"


def create_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=ROLE)


class Migration(migrations.Migration):
    """Accounts of systems that call the API: their own request rate (api/throttling.py)."""

    dependencies = [("wagtail_correspondence", "0024_merge_field_picker")]
    # Going back leaves the group: it grants nothing, and deleting a group from a migration's
    # historical models trips over the relations other apps' current models hold to it.
    operations = [migrations.RunPython(create_role, migrations.RunPython.noop)]
