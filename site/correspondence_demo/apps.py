from django.apps import AppConfig


class CorrespondenceDemoConfig(AppConfig):
    name = "correspondence_demo"
    verbose_name = "Correspondence demo"
