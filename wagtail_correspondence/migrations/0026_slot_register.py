# A reserved slot in the migration chain (parallel work fills it or it is removed).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("wagtail_correspondence", "0025_slot_letters_portal")]
    operations = []
