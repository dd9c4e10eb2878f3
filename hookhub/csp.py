"""Content-Security-Policy header, from settings.HOOKHUB_CSP, with per-view relaxations.

A middleware of a few lines rather than a dependency: HookHub serves no inline scripts, so
it needs neither nonces nor report endpoints. Django 6 has this built in; drop this module
when the project moves there.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


def build_policy(directives: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(sources)}".strip() for name, sources in directives.items())


def merged_policy(extra: dict[str, list[str]] | None) -> dict[str, list[str]]:
    policy = {name: list(sources) for name, sources in settings.HOOKHUB_CSP.items()}
    for name, sources in (extra or {}).items():
        current = policy.setdefault(name, list(policy.get("default-src", [])))
        current.extend(source for source in sources if source not in current)
    return policy


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response:
            extra = getattr(response, "_csp_update", None)
            response[HEADER] = build_policy(merged_policy(extra))
        return response


def csp_update(**directives: list[str]) -> Callable:
    """Add sources to the policy for one view: `csp_update(style_src=["'unsafe-inline'"])`.

    Keyword names use underscores for dashes. Only ever widen a policy for a view that needs
    it, and never with inline scripts.
    """
    extra = {name.replace("_", "-"): list(sources) for name, sources in directives.items()}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = view(request, *args, **kwargs)
            response._csp_update = extra
            return response

        return wrapped

    return decorator
