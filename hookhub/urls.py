from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from dashboard.home_views import home
from hookhub.api.docs import (
    CachedSpectacularAPIView,
    LocalRedocView,
    LocalSwaggerView,
    redoc_bundle,
)
from hookhub.api.errors import api_route_not_found
from hookhub.csp import csp_update
from hookhub.metrics import metrics_view

# Swagger UI and Redoc set inline styles (React / styled-components) and Redoc builds its
# search worker from a blob: URL; their scripts are static files, never inline.
docs_csp = csp_update(style_src=["'unsafe-inline'"], worker_src=["'self'", "blob:"])

urlpatterns = [
    path("", home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include("hookhub.api.urls")),
    path("api/schema/", CachedSpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        docs_csp(LocalSwaggerView.as_view(url_name="schema")),
        name="swagger-ui",
    ),
    path("api/redoc/", docs_csp(LocalRedocView.as_view(url_name="schema")), name="redoc"),
    path("api/redoc/redoc.standalone.js", redoc_bundle, name="redoc-bundle"),
    # After every api/ route: the rest of /api/ is a JSON 404, whatever DEBUG says.
    re_path(r"^api(?:/(?P<path>.*))?$", api_route_not_found),
    path("", include("dashboard.urls")),
    path("", include("demo.urls")),
]

# JSON errors under /api/, Django's pages elsewhere.
handler404 = "hookhub.api.errors.json_not_found"
handler500 = "hookhub.api.errors.json_server_error"
