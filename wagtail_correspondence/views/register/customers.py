"""The customer look-up of “Register incoming mail”: find the customer who wrote, and fill the
sender fields from their record in the customer data source (customers.py).

Searching returns summaries (name, email, phone) and is not logged, as in the letter builder;
taking a customer's address reads the full record, which ``read_customer_record`` logs."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import get_language, to_locale
from django.views.decorators.http import require_GET
from wagtail.admin.auth import require_admin_access

from ... import postal
from ...customers import CustomerNotFound, get_customer_source
from ...services import register_access as access
from ...services.customer_records import read_customer_record

SEARCH_LIMIT = 10
MAX_QUERY = 100


def can_look_up_customers(user):
    """Whoever registers incoming mail identifies its sender."""
    return access.can_register(user)


def postal_address(address):
    """The record's address as the lines of an envelope."""
    if not isinstance(address, dict):
        return str(address or "")
    return "\n".join(postal.address_lines(address, to_locale(get_language() or "en")))


def party_fields(record):
    """The register's sender fields from a customer record (the shape of letter data)."""
    customer = record.get("customer", {}) if isinstance(record, dict) else {}
    name = customer.get("full_name") or " ".join(
        str(customer[key]) for key in ("first_name", "last_name") if customer.get(key))
    return {
        "customer_id": str(customer.get("id", "")),
        "sender_name": name,
        "sender_organisation": customer.get("organisation", "") or "",
        "sender_email": customer.get("email", "") or "",
        "sender_phone": customer.get("phone", "") or "",
        "sender_address": postal_address(customer.get("address")),
    }


@require_admin_access
@require_GET
def customer_search_view(request):
    if not can_look_up_customers(request.user):
        raise PermissionDenied
    query = request.GET.get("q", "")[:MAX_QUERY]
    results = get_customer_source().search(query, limit=SEARCH_LIMIT) if query.strip() else []
    return JsonResponse({"results": [{key: item.get(key, "") for key in ("id", "full_name", "email", "phone")}
                                     for item in results]})


@require_admin_access
@require_GET
def customer_party_view(request, customer_id):
    # The URL guard (urls.py) has already refused whoever may not look customers up.
    try:
        record = read_customer_record(request.user, customer_id, via="admin")
    except CustomerNotFound:
        raise Http404 from None
    return JsonResponse({"party": party_fields(record)})
