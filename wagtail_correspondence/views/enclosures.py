"""An enclosure's PDF, for staff who may see the enclosure library: the file of the version
being edited (the editor's "Current PDF" link), checked against its recorded SHA-256."""

import hashlib

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views import View
from wagtail.permission_policies import ModelPermissionPolicy

from ..models import Enclosure


class EnclosurePdfView(View):
    def get(self, request, pk):
        enclosure = get_object_or_404(Enclosure, pk=pk)
        if not ModelPermissionPolicy(Enclosure).user_has_permission(request.user, "view"):
            raise PermissionDenied
        with enclosure.file.open("rb") as handle:
            content = handle.read()
        if hashlib.sha256(content).hexdigest() != enclosure.file_sha256:
            return HttpResponse(_("The stored PDF does not match its recorded SHA-256."), status=409,
                                content_type="text/plain; charset=utf-8")
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{enclosure.key}.pdf"'
        response["X-Content-Type-Options"] = "nosniff"
        response["X-Content-SHA256"] = enclosure.file_sha256
        return response
