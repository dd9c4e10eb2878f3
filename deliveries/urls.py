from django.urls import path

from deliveries import review_views, views

app_name = "deliveries"

urlpatterns = [
    path("endpoints/<uuid:uid>/test/", views.send_test, name="send-test"),
    path("endpoints/<uuid:uid>/deliveries/", views.delivery_log, name="delivery-log"),
    path("deliveries/<uuid:uid>/", views.delivery_detail, name="delivery-detail"),
    path("deliveries/<uuid:uid>/replay/", views.delivery_replay, name="delivery-replay"),
    # Staff
    path("review/", review_views.overview, name="review-overview"),
    path("review/failures/", review_views.failures, name="review-failures"),
    path("review/failures/replay/", review_views.bulk_replay, name="bulk-replay"),
    path("review/replays/<uuid:uid>/", review_views.replay_job, name="replay-job"),
    path(
        "review/endpoints/<uuid:uid>/enable/",
        review_views.endpoint_enable,
        name="endpoint-enable",
    ),
]
