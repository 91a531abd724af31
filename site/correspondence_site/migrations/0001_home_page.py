"""The site root Wagtail creates is titled "Welcome to your new Wagtail site!"; in the page tree
of a correspondence system it is simply the site's home (the landing at / is views.landing)."""

from django.db import migrations

WAGTAIL_DEFAULT_TITLE = "Welcome to your new Wagtail site!"


def name_home(apps, schema_editor):
    Page = apps.get_model("wagtailcore", "Page")
    Page.objects.filter(url_path="/home/", title=WAGTAIL_DEFAULT_TITLE).update(title="Home", draft_title="Home")


def restore_title(apps, schema_editor):
    Page = apps.get_model("wagtailcore", "Page")
    Page.objects.filter(url_path="/home/", title="Home").update(title=WAGTAIL_DEFAULT_TITLE,
                                                                draft_title=WAGTAIL_DEFAULT_TITLE)


class Migration(migrations.Migration):
    # After Wagtail creates the page (0002) and gives pages a draft title (0040).
    dependencies = [("wagtailcore", "0040_page_draft_title")]

    operations = [migrations.RunPython(name_home, restore_title)]
