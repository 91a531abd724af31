"""Who sees which letters. One place, used by the letter list, the letter pages, the PDF
downloads, batches and the API, so that a list, a count and a download never disagree.

Agents see the letters they started. Users who may view letters see those of their
departments and every department below them (as in the register); ``view_all_letters``
lifts the department scope. A letter answering a strictly confidential register entry, or
whose own register entry is strictly confidential, also needs
``view_confidential_correspondence``, unless the user wrote it.
"""

from django.db.models import Q

from ..models import Confidentiality, Department, Letter
from .register_access import VIEW_CONFIDENTIAL, department_scope, user_departments

APP = "wagtail_correspondence"
ADD_LETTER = f"{APP}.add_letter"
VIEW_LETTER = f"{APP}.view_letter"
VIEW_ALL_LETTERS = f"{APP}.view_all_letters"


def visible_letters(user, queryset=None):
    queryset = Letter.objects.all() if queryset is None else queryset
    if not user.is_active:
        return queryset.none()
    mine = Q(created_by=user) | Q(generated_by=user)
    if user.has_perm(VIEW_ALL_LETTERS):
        pass
    elif user.has_perm(VIEW_LETTER):
        departments = Department.objects.filter(department_scope(user))
        queryset = queryset.filter(Q(department__in=departments) | mine)
    elif user.has_perm(ADD_LETTER):
        queryset = queryset.filter(mine)
    else:
        return queryset.none()
    if not user.has_perm(VIEW_CONFIDENTIAL):
        secret = (Q(in_reply_to__confidentiality=Confidentiality.SECRET)
                  | Q(register_entry__confidentiality=Confidentiality.SECRET))
        queryset = queryset.exclude(secret & ~mine)
    return queryset


SEARCHED_FIELDS = ["reference", "recipient_name", "customer_id", "subject"]


def search_letters(queryset, query):
    """Letters of ``queryset`` where every word appears in one of ``SEARCHED_FIELDS``; for the
    admin list and the API alike. It filters the queryset it is given, so search never widens
    the scope."""
    for word in (query or "").split()[:10]:
        any_field = Q()
        for name in SEARCHED_FIELDS:
            any_field |= Q(**{f"{name}__icontains": word})
        queryset = queryset.filter(any_field)
    return queryset


def can_view_letter(user, letter):
    return letter.pk is not None and visible_letters(user, Letter.objects.filter(pk=letter.pk)).exists()


def may_list_letters(user):
    """Whether the letter list (and batches) may be opened at all."""
    return user.is_active and (user.has_perm(VIEW_LETTER) or user.has_perm(ADD_LETTER))


def letter_department(user, in_reply_to=None):
    """The department a new letter belongs to: that of the entry it answers, else the first
    department of the user who writes it."""
    if in_reply_to is not None and in_reply_to.department_id:
        return in_reply_to.department
    departments = user_departments(user) if user is not None else []
    return departments[0] if departments else None


def visible_batches(user, queryset=None):
    """Batches hold a customer list: their creators and users who see every department's
    letters see them."""
    from ..models import LetterBatch

    queryset = LetterBatch.objects.all() if queryset is None else queryset
    if not user.is_active:
        return queryset.none()
    if user.has_perm(VIEW_ALL_LETTERS):
        return queryset
    return queryset.filter(created_by=user)
