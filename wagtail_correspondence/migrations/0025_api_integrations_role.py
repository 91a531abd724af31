from django.db import migrations

ROLE = "API integrations"


def create_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=ROLE)


def remove_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=ROLE).delete()


class Migration(migrations.Migration):
    """Accounts of systems that call the API: their own request rate (api/throttling.py)."""

    dependencies = [("wagtail_correspondence", "0024_merge_field_picker")]
    operations = [migrations.RunPython(create_role, remove_role)]
