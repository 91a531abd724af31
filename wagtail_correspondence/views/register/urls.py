"""Actions on register entries, and the user's background exports, under /admin/correspondence/register/."""

from django.urls import path

from ...permissions import guard_patterns, permission_rule, policy_rule, register_entry_policy, register_export_policy
from . import customers, dashboard, entries, exports, privacy

app_name = "wagtail_correspondence_register"

# Every action names an entry: it must be one the user sees (404 otherwise) before the view
# checks what the user may do with it.
urlpatterns = guard_patterns([
    path("<int:pk>/transition/", entries.transition_view, name="transition"),
    path("<int:pk>/assign/", entries.assign_view, name="assign"),
    path("<int:pk>/take/", entries.take_view, name="take"),
    path("<int:pk>/notes/", entries.note_view, name="note"),
    path("<int:pk>/attachments/", entries.upload_view, name="upload"),
    path("<int:pk>/attachments/<int:version_pk>/", entries.download_view, name="download"),
    path("<int:pk>/restore/", entries.restore_view, name="restore"),
    path("<int:pk>/legal-hold/", entries.legal_hold_view, name="legal_hold"),
    path("subject-access/", privacy.SubjectAccessView.as_view(), name="subject_access"),
    path("exports/", exports.ExportListView.as_view(), name="exports"),
    path("exports/progress/", exports.progress_view, name="export_progress"),
    path("exports/<int:pk>/download/", exports.download_view, name="export_download"),
    path("customers/", customers.customer_search_view, name="customer_search"),
    # The dashboard's volumes, counted in the user's own scope (the view checks the permission).
    path("dashboard/volumes/", dashboard.volumes_view, name="dashboard_volumes"),
    path("customers/<str:customer_id>/", customers.customer_party_view, name="customer_party"),
], rules={
    "customer_party": [permission_rule("customer_id", customers.can_look_up_customers,
                                       "registrars look up who wrote")],
    # A background export is its requester's alone (404 to anyone else, whatever their role).
    "export_download": [policy_rule(register_export_policy)],
}, default=[policy_rule(register_entry_policy)], exempt=["version_pk"])
