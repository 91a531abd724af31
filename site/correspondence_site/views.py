from django.shortcuts import redirect, render
from django.templatetags.static import static

from wagtail_correspondence.conf import get_setting


def landing(request):
    """The site's front door instead of Wagtail's welcome page: staff sign in to the admin;
    customers reach their letters through the personal link their notice email carries."""
    return render(request, "correspondence_site/landing.html", {"organisation": get_setting("ORGANISATION_NAME")})


def favicon(request):
    """Browsers ask for /favicon.ico on their own (sandboxed previews too): the admin's icon.
    Resolved per request: with the production static storage the name exists only after
    collectstatic, which importing the URLs (or `check --deploy`) must not need."""
    return redirect(static("wagtailadmin/images/favicon.ico"))
