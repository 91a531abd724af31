"""Wagtail's publishing words that the product says in the review's words ("Changes requested"
for "Rejected", "in review" for "in moderation", "letter template" for "page"). Named here, with
``gettext_noop``, so that ``makemessages`` keeps them in the French and Dutch catalogues, which
translate them in the review's words; the English ones live in locale/en, written by hand.
Nothing imports this module: it only names the messages."""

from django.utils.translation import gettext_noop

WAGTAIL_WORDS = [
    gettext_noop("Rejected"),
    gettext_noop("The %(model_name)s '%(title)s' is not currently awaiting moderation."),
    gettext_noop("The %(model_name)s '%(title)s' is not currently awaiting moderation in task '%(task_name)s'."),
    gettext_noop("The page '%(page_title)s' is not currently awaiting moderation."),
    gettext_noop("The page '%(page_title)s' is not currently awaiting moderation in task '%(task_name)s'."),
    gettext_noop("This %(model_name)s is currently awaiting moderation."),
    gettext_noop("No publishing schedule set"),
    gettext_noop("Set publishing schedule"),
    gettext_noop('This publishing schedule will only take effect after you select the "Schedule to publish" option'),
    gettext_noop("But only those with publishing permissions can make them effective."),
    gettext_noop("Needs changes"),
    gettext_noop("in moderation"),
    gettext_noop("live + in moderation"),
    gettext_noop("Submit for moderation"),
    gettext_noop("Page '%(page_title)s' has been submitted for moderation."),
    gettext_noop("Page '%(page_title)s' created and submitted for moderation."),
    gettext_noop("Receive notification when a page is submitted for moderation"),
    gettext_noop("No pages/snippets have been submitted for moderation yet"),
    gettext_noop("This page hasn't been submitted for moderation yet"),
    gettext_noop("page"),
    gettext_noop("pages"),
    gettext_noop("Page type"),
    gettext_noop("Has child pages"),
]
