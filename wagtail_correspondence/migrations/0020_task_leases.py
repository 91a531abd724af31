from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("wagtail_correspondence", "0019_audit_keyed_seals")]

    operations = []
