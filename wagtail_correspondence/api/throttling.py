"""The API's rate for people and the one for integrating systems.

One person clicking through the admin or a script on a laptop stays far below the "user" rate
(1,200 requests a minute by default). A system that integrates with the API (a CRM previewing
letters as its agents type, a core banking system handing over a day's notices) needs more:
accounts in the *API integrations* role are counted against the "service" rate instead, with a
count of their own. Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].
"""

from rest_framework.throttling import UserRateThrottle

from .. import roles

SERVICE_SCOPE = "service"
DEFAULT_SERVICE_RATE = "60000/minute"


def is_service_account(user):
    if not (user and user.is_authenticated):
        return False
    if not hasattr(user, "_correspondence_service_account"):
        user._correspondence_service_account = user.groups.filter(name=roles.API_INTEGRATIONS).exists()
    return user._correspondence_service_account


class PersonOrServiceRateThrottle(UserRateThrottle):
    """DRF's per-user throttle, at the "service" rate for API integration accounts."""

    def allow_request(self, request, view):
        if is_service_account(request.user):
            self.scope = SERVICE_SCOPE
            self.rate = self.THROTTLE_RATES.get(SERVICE_SCOPE) or DEFAULT_SERVICE_RATE
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
