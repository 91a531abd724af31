"""The roles of the product, as Django groups. Created by migration 0002; this module names
them for code and tests. Page permissions on the template library are granted by
``services.setup.ensure_template_library``, since pages do not exist at migration time."""

CONTENT_AUTHORS = "Content authors"
CONTENT_REVIEWERS = "Content reviewers"
AGENTS = "Agents"
OFFICERS = "Correspondence officers"
SUPERVISORS = "Supervisors"
AUDITORS = "Auditors"
ADMINISTRATORS = "Administrators"
# Second pair of eyes on letters that approval rules hold (four-eyes on letters): they approve
# or return the letters of their departments (and those below), never their own.
LETTER_APPROVERS = "Letter approvers"
# Accounts of systems that call the API (api/throttling.py): their own, higher request rate.
# Holds no permission itself: such an account gets the roles of the work it does as well.
API_INTEGRATIONS = "API integrations"

ALL_ROLES = [CONTENT_AUTHORS, CONTENT_REVIEWERS, AGENTS, OFFICERS, SUPERVISORS, AUDITORS, ADMINISTRATORS,
             API_INTEGRATIONS, LETTER_APPROVERS]

# Permission types each role holds on the template library pages. With four-eyes review on
# (WAGTAIL_CORRESPONDENCE["FOUR_EYES"], the default), "publish_page" (like publish_fragment and
# publish_layout from migration 0002) lets its holder withdraw (unpublish) content, never
# publish it: only the review workflow's approval publishes (review/permissions.py).
LIBRARY_PAGE_PERMISSIONS = {
    CONTENT_AUTHORS: ["add_page", "change_page", "lock_page", "unlock_page"],
    CONTENT_REVIEWERS: ["change_page", "publish_page", "lock_page", "unlock_page"],
    ADMINISTRATORS: ["add_page", "change_page", "publish_page", "bulk_delete_page", "lock_page", "unlock_page"],
}
