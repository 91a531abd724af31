from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("wagtail_correspondence", "0020_task_leases")]

    operations = []
