from django.urls import path

from demo import views

app_name = "demo"

urlpatterns = [
    path("demo/inbox/", views.inbox_page, name="inbox"),
    path("demo/inbox/<slug:inbox>/", views.inbox_receive, name="inbox-receive"),
]
