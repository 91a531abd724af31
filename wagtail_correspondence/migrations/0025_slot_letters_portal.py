# Portal links record the address of the site a letter was generated from.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("wagtail_correspondence", "0024_slot_batches")]
    operations = [
        migrations.AddField(
            model_name="dispatch",
            name="link_origin",
            field=models.CharField(blank=True, max_length=200, verbose_name="link origin"),
        ),
    ]
