"""Fragments and layouts become translatable (wagtail-localize): each gets a locale and a
translation key. A fragment's locale is its former ``language`` label where that is a content
language (WAGTAIL_CONTENT_LANGUAGES), else the default one; a layout's is the default one. A
fragment's key and a layout's name are then unique per locale: variants share them."""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def content_languages():
    from wagtail.coreutils import get_content_languages, get_supported_content_language_variant

    return set(get_content_languages()), get_supported_content_language_variant(settings.LANGUAGE_CODE)


def bootstrap(apps, schema_editor):
    Locale = apps.get_model("wagtailcore", "Locale")
    languages, default_code = content_languages()
    locales = {}

    def locale_for(code):
        code = code if code in languages else default_code
        if code not in locales:
            locales[code], _created = Locale.objects.get_or_create(language_code=code)
        return locales[code]

    Fragment = apps.get_model("wagtail_correspondence", "Fragment")
    for pk, language in Fragment.objects.values_list("pk", "language"):
        locale = locale_for(language)
        Fragment.objects.filter(pk=pk).update(translation_key=uuid.uuid4(), locale=locale,
                                              language=locale.language_code)
    Layout = apps.get_model("wagtail_correspondence", "Layout")
    for pk in Layout.objects.values_list("pk", flat=True):
        Layout.objects.filter(pk=pk).update(translation_key=uuid.uuid4(), locale=locale_for(default_code))


class Migration(migrations.Migration):

    dependencies = [
        ("wagtail_correspondence", "0036_dashboard_volumes"),
        ("wagtailcore", "0094_alter_page_locale"),
    ]

    operations = [
        migrations.AddField("fragment", "translation_key", models.UUIDField(null=True, editable=False)),
        migrations.AddField("fragment", "locale", models.ForeignKey(
            null=True, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+",
            to="wagtailcore.locale", verbose_name="locale")),
        migrations.AddField("layout", "translation_key", models.UUIDField(null=True, editable=False)),
        migrations.AddField("layout", "locale", models.ForeignKey(
            null=True, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+",
            to="wagtailcore.locale", verbose_name="locale")),
        migrations.RunPython(bootstrap, migrations.RunPython.noop),
        migrations.AlterField("fragment", "translation_key", models.UUIDField(default=uuid.uuid4, editable=False)),
        migrations.AlterField("fragment", "locale", models.ForeignKey(
            editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="wagtailcore.locale",
            verbose_name="locale")),
        migrations.AlterField("layout", "translation_key", models.UUIDField(default=uuid.uuid4, editable=False)),
        migrations.AlterField("layout", "locale", models.ForeignKey(
            editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="wagtailcore.locale",
            verbose_name="locale")),
        migrations.AlterUniqueTogether("fragment", {("translation_key", "locale")}),
        migrations.AlterUniqueTogether("layout", {("translation_key", "locale")}),
        migrations.AlterField("fragment", "key", models.SlugField(
            max_length=100, verbose_name="key",
            help_text="Stable identifier used by integrations, e.g. payment-reminder-intro; the same in every "
                      "language")),
        migrations.AlterField("layout", "name", models.CharField(max_length=150, verbose_name="name")),
        migrations.AddConstraint("fragment", models.UniqueConstraint(fields=("key", "locale"),
                                                                     name="fragment_key_per_locale")),
        migrations.AddConstraint("layout", models.UniqueConstraint(fields=("name", "locale"),
                                                                   name="layout_name_per_locale")),
    ]
