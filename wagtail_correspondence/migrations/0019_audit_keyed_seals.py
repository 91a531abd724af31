from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("wagtail_correspondence", "0018_agents_do_not_browse_categories")]

    operations = []
