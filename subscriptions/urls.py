from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("endpoints/", views.endpoint_list, name="endpoint-list"),
]
