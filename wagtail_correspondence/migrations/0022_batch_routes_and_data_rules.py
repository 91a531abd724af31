# Batches and data rules: where each batch row's letter will go (its channel route), and
# rules across a letter's data kept on data dictionaries and letter templates.
import django.db.models.deletion
import modelcluster.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("wagtail_correspondence", "0021_four_eyes_review")]

    operations = [
        migrations.AddField(
            model_name='batchrow',
            name='route',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.CreateModel(
            name='DictionaryRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sort_order', models.IntegerField(blank=True, editable=False, null=True)),
                ('kind', models.CharField(choices=[('value', 'compared to a value'), ('field', 'compared to another field'), ('letter_date', "compared to the letter's date"), ('required_if', 'required if another field is set')], default='value', max_length=20, verbose_name='the field is')),
                ('field', models.CharField(help_text='e.g. due_date or balance', max_length=120, verbose_name='field')),
                ('operator', models.CharField(choices=[('gt', 'greater than / after'), ('gte', 'at least / on or after'), ('lt', 'less than / before'), ('lte', 'at most / on or before'), ('eq', 'equal to'), ('ne', 'different from')], default='gt', max_length=3, verbose_name='must be')),
                ('other_field', models.CharField(blank=True, help_text='For “another field” and “required if”', max_length=120, verbose_name='other field')),
                ('value', models.CharField(blank=True, help_text="The value (0, 2026-12-31); for the letter's date, days added to it (empty: the date itself)", max_length=120, verbose_name='value')),
                ('message', models.CharField(blank=True, help_text='Shown when the rule is broken; empty: a message is written for you', max_length=255, verbose_name='message')),
                ('dictionary', modelcluster.fields.ParentalKey(on_delete=django.db.models.deletion.CASCADE, related_name='rules', to='wagtail_correspondence.datadictionary')),
            ],
            options={
                'verbose_name': 'data rule',
                'verbose_name_plural': 'data rules',
                'ordering': ['sort_order'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='TemplateRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sort_order', models.IntegerField(blank=True, editable=False, null=True)),
                ('kind', models.CharField(choices=[('value', 'compared to a value'), ('field', 'compared to another field'), ('letter_date', "compared to the letter's date"), ('required_if', 'required if another field is set')], default='value', max_length=20, verbose_name='the field is')),
                ('field', models.CharField(help_text='e.g. due_date or balance', max_length=120, verbose_name='field')),
                ('operator', models.CharField(choices=[('gt', 'greater than / after'), ('gte', 'at least / on or after'), ('lt', 'less than / before'), ('lte', 'at most / on or before'), ('eq', 'equal to'), ('ne', 'different from')], default='gt', max_length=3, verbose_name='must be')),
                ('other_field', models.CharField(blank=True, help_text='For “another field” and “required if”', max_length=120, verbose_name='other field')),
                ('value', models.CharField(blank=True, help_text="The value (0, 2026-12-31); for the letter's date, days added to it (empty: the date itself)", max_length=120, verbose_name='value')),
                ('message', models.CharField(blank=True, help_text='Shown when the rule is broken; empty: a message is written for you', max_length=255, verbose_name='message')),
                ('page', modelcluster.fields.ParentalKey(on_delete=django.db.models.deletion.CASCADE, related_name='data_rules', to='wagtail_correspondence.lettertemplatepage')),
            ],
            options={
                'verbose_name': 'template rule',
                'verbose_name_plural': 'template rules',
                'ordering': ['sort_order'],
                'abstract': False,
            },
        ),
    ]
