"""JSON errors for the API: every error names the field it is about, never an HTML page."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {field: [str(message) for message in messages] for field, messages in exc.message_dict.items()}
        else:
            detail = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"non_field_errors": response.data}
    return response


def not_found(request, *args, **kwargs):
    """Unknown URLs below the API answer in JSON too."""
    return JsonResponse({"detail": "Not found."}, status=404)


def field_errors_response(errors, status_code=status.HTTP_400_BAD_REQUEST):
    """A 400 listing payload problems: ``{"errors": [{"field": "invoices[1].amount", "message": ...,
    "kind": "data"}]}``, the shape letter checks answer with."""
    return Response({"errors": [{"field": error.path, "message": error.message, "kind": "data"} for error in errors]},
                    status=status_code)
