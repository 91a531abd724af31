from django.shortcuts import render

from wagtail_correspondence.conf import get_setting


def landing(request):
    """The site's front door instead of Wagtail's welcome page: staff sign in to the admin;
    customers reach their letters through the personal link their notice email carries."""
    return render(request, "correspondence_site/landing.html", {"organisation": get_setting("ORGANISATION_NAME")})
