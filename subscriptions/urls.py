from django.urls import path

from subscriptions import staff_views, views

app_name = "subscriptions"

urlpatterns = [
    path("endpoints/", views.endpoint_list, name="endpoint-list"),
    path("endpoints/new/", views.endpoint_create, name="endpoint-create"),
    path("endpoints/<uuid:uid>/", views.endpoint_detail, name="endpoint-detail"),
    path("endpoints/<uuid:uid>/edit/", views.endpoint_edit, name="endpoint-edit"),
    path("endpoints/<uuid:uid>/delete/", views.endpoint_delete, name="endpoint-delete"),
    path("endpoints/<uuid:uid>/pause/", views.endpoint_pause, name="endpoint-pause"),
    path("endpoints/<uuid:uid>/resume/", views.endpoint_resume, name="endpoint-resume"),
    path("endpoints/<uuid:uid>/secret/", views.secret_reveal, name="secret-reveal"),
    path("endpoints/<uuid:uid>/secret/rotate/", views.secret_rotate, name="secret-rotate"),
    path("webhooks/", views.webhook_catalogue, name="webhooks"),
    # Staff
    path("review/event-types/", staff_views.event_type_list, name="event-type-list"),
    path("review/event-types/new/", staff_views.event_type_create, name="event-type-create"),
    path("review/event-types/<slug:name>/", staff_views.event_type_edit, name="event-type-edit"),
    path(
        "review/event-types/<slug:name>/archive/",
        staff_views.event_type_archive,
        name="event-type-archive",
    ),
    path("review/audit/", staff_views.audit_log, name="audit-log"),
]
