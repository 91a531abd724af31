from django.urls import path

from . import views

app_name = "wagtail_correspondence_portal"

urlpatterns = [
    path("letters/<str:token>/", views.PortalLetterView.as_view(), name="letter"),
    path("letters/<str:token>/pdf/", views.PortalPdfView.as_view(), name="pdf"),
]
