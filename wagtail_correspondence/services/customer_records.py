"""Reading a customer's full record (the shape of letter data: address, balance, invoices...)
is a disclosure of personal data and is audited. Customers live in the customer data source,
not in the site's database, so the log entry is kept on the user who read the record, with
the customer's id and how it was read (``admin`` or ``api``).

Summaries returned by a search (name, email, phone) are not logged: the builder searches as
the agent types."""

from wagtail.log_actions import log

from .. import log_actions
from ..customers import get_customer_source


def read_customer_record(user, customer_id, via):
    """The customer's record, logged; raises ``CustomerNotFound`` (nothing logged) if there
    is none."""
    record = get_customer_source().get(customer_id)
    log(user, log_actions.CUSTOMER_RECORD_VIEWED, user=user, data={"customer_id": str(customer_id), "via": via})
    return record
