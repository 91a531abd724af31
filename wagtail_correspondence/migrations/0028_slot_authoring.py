# Authoring: the merge-field picker in the fragment editor (the "merge_field" rich-text feature
# and the picker's button on list columns) changes the body's block definition, not its data.

import django.core.validators
import wagtail.fields
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("wagtail_correspondence", "0027_slot_site")]
    operations = [
        migrations.AlterField(
            model_name='fragment',
            name='body',
            field=wagtail.fields.StreamField([('rich_text', 0), ('conditional', 20), ('repeating_list', 11), ('image', 16), ('table', 17), ('page_break', 21)], block_lookup={0: ('wagtail_correspondence.blocks.MergeRichTextBlock', (), {}), 1: ('wagtail_correspondence.blocks.ExpressionBlock', (), {}), 2: ('wagtail.blocks.CharBlock', (), {'help_text': 'Name of a list field in the data dictionary, e.g. invoices', 'max_length': 120}), 3: ('wagtail.blocks.CharBlock', (), {'default': 'item', 'help_text': 'The name each record has inside the list, e.g. item', 'max_length': 40, 'validators': [django.core.validators.RegexValidator('^[a-z][a-z0-9_]*$', 'Use lower-case letters, digits and underscores.')]}), 4: ('wagtail.blocks.ChoiceBlock', [], {'choices': [('table', 'Table'), ('bullets', 'Bulleted list'), ('numbered', 'Numbered list')]}), 5: ('wagtail.blocks.CharBlock', (), {'max_length': 100}), 6: ('wagtail_correspondence.blocks.MergeTextBlock', (), {'help_text': 'A merge expression over the item, e.g. {{ item.amount|money }}', 'max_length': 300}), 7: ('wagtail.blocks.StructBlock', [[('heading', 5), ('value', 6)]], {}), 8: ('wagtail.blocks.ListBlock', (7,), {'help_text': 'Table columns', 'required': False}), 9: ('wagtail_correspondence.blocks.MergeRichTextBlock', (), {'features': ['bold', 'italic', 'merge_field'], 'help_text': 'Text of each bullet, e.g. Invoice {{ item.number }}', 'required': False}), 10: ('wagtail.blocks.CharBlock', (), {'help_text': 'Shown when the list is empty', 'max_length': 300, 'required': False}), 11: ('wagtail.blocks.StructBlock', [[('source', 2), ('item_name', 3), ('style', 4), ('columns', 8), ('item_text', 9), ('empty_text', 10)]], {}), 12: ('wagtail.images.blocks.ImageChooserBlock', (), {}), 13: ('wagtail.blocks.CharBlock', (), {'help_text': 'Read out by screen readers; shown if the image cannot be displayed.', 'label': 'alternative text', 'max_length': 255}), 14: ('wagtail.blocks.IntegerBlock', (), {'default': 60, 'label': 'width (mm)', 'max_value': 200, 'min_value': 5}), 15: ('wagtail.blocks.ChoiceBlock', [], {'choices': [('left', 'Left'), ('center', 'Centre'), ('right', 'Right')]}), 16: ('wagtail.blocks.StructBlock', [[('image', 12), ('alt_text', 13), ('width_mm', 14), ('alignment', 15)]], {}), 17: ('wagtail_correspondence.blocks.MergeTableBlock', (), {}), 18: ('wagtail.blocks.StreamBlock', [[('rich_text', 0), ('repeating_list', 11), ('image', 16), ('table', 17)]], {'help_text': 'Included when the condition is true'}), 19: ('wagtail.blocks.StreamBlock', [[('rich_text', 0), ('repeating_list', 11), ('image', 16), ('table', 17)]], {'help_text': 'Included when the condition is false (optional)', 'required': False}), 20: ('wagtail.blocks.StructBlock', [[('condition', 1), ('content', 18), ('otherwise', 19)]], {}), 21: ('wagtail_correspondence.blocks.PageBreakBlock', (), {})}, verbose_name='body'),
        ),
    ]
