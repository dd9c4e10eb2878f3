from django.urls import path

from dashboard import (
    catalogue_views,
    delivery_views,
    endpoint_views,
    recover_views,
    review_views,
)
from subscriptions import codegen

app_name = "dashboard"

urlpatterns = [
    # A subscriber's endpoints
    path("endpoints/", endpoint_views.endpoint_list, name="endpoint-list"),
    path("endpoints/new/", endpoint_views.endpoint_create, name="endpoint-create"),
    path("endpoints/<uuid:uid>/", endpoint_views.endpoint_detail, name="endpoint-detail"),
    path("endpoints/<uuid:uid>/edit/", endpoint_views.endpoint_edit, name="endpoint-edit"),
    path("endpoints/<uuid:uid>/delete/", endpoint_views.endpoint_delete, name="endpoint-delete"),
    path("endpoints/<uuid:uid>/pause/", endpoint_views.endpoint_pause, name="endpoint-pause"),
    path("endpoints/<uuid:uid>/resume/", endpoint_views.endpoint_resume, name="endpoint-resume"),
    path("endpoints/<uuid:uid>/secret/", endpoint_views.secret_reveal, name="secret-reveal"),
    path("endpoints/<uuid:uid>/headers/", endpoint_views.headers_reveal, name="headers-reveal"),
    path("endpoints/<uuid:uid>/secret/rotate/", endpoint_views.secret_rotate, name="secret-rotate"),
    path("endpoints/<uuid:uid>/test/", delivery_views.send_test, name="send-test"),
    path("endpoints/<uuid:uid>/deliveries/", delivery_views.delivery_log, name="delivery-log"),
    path("endpoints/<uuid:uid>/send-missed/", delivery_views.send_missed, name="send-missed"),
    path("endpoints/<uuid:uid>/recover/", recover_views.recover, name="recover"),
    path("replays/<uuid:uid>/", recover_views.recover_job, name="recover-job"),
    path("deliveries/<uuid:uid>/", delivery_views.delivery_detail, name="delivery-detail"),
    path("deliveries/<uuid:uid>/replay/", delivery_views.delivery_replay, name="delivery-replay"),
    path("webhooks/", endpoint_views.webhook_catalogue, name="webhooks"),
    path(
        "webhooks/event-types/<slug:name>/code/", catalogue_views.webhook_code, name="webhook-code"
    ),
    path(
        f"webhooks/all-types/{codegen.PYTHON_MODELS_FILE}",
        catalogue_views.catalogue_code_file,
        {"filename": codegen.PYTHON_MODELS_FILE},
        name="catalogue-models",
    ),
    path(
        f"webhooks/all-types/{codegen.TYPESCRIPT_TYPES_FILE}",
        catalogue_views.catalogue_code_file,
        {"filename": codegen.TYPESCRIPT_TYPES_FILE},
        name="catalogue-types",
    ),
    # Staff
    path("review/", review_views.overview, name="review-overview"),
    path("review/failures/", review_views.failures, name="review-failures"),
    path("review/failures/replay/", review_views.bulk_replay, name="bulk-replay"),
    path("review/replays/<uuid:uid>/", review_views.replay_job, name="replay-job"),
    path(
        "review/endpoints/<uuid:uid>/enable/", review_views.endpoint_enable, name="endpoint-enable"
    ),
    path("review/event-types/", catalogue_views.event_type_list, name="event-type-list"),
    path("review/event-types/new/", catalogue_views.event_type_create, name="event-type-create"),
    path(
        "review/event-types/<slug:name>/", catalogue_views.event_type_edit, name="event-type-edit"
    ),
    path(
        "review/event-types/<slug:name>/archive/",
        catalogue_views.event_type_archive,
        name="event-type-archive",
    ),
    path("review/audit/", catalogue_views.audit_log, name="audit-log"),
]
