"""A machine translator for tests only: it looks strings up in a small glossary and never calls
an outside service (DeepL, Google). Configured in a test with
``settings.WAGTAILLOCALIZE_MACHINE_TRANSLATOR = {"CLASS": "tests.fake_translator.FakeTranslator"}``."""

from wagtail_localize.machine_translators.base import BaseMachineTranslator
from wagtail_localize.strings import StringValue

GLOSSARY = {
    "fr": {"Greeting": "Salutation", "Dear {{ customer.first_name }},": "Cher {{ customer.first_name }},"},
}


class FakeTranslator(BaseMachineTranslator):
    display_name = "Fake translator (tests)"

    def translate(self, source_locale, target_locale, strings):
        glossary = GLOSSARY.get(target_locale.language_code, {})
        return {string: StringValue.from_plaintext(glossary[string.data]) for string in strings
                if string.data in glossary}

    def can_translate(self, source_locale, target_locale):
        return target_locale.language_code in GLOSSARY
