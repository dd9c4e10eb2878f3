"""The docs pages answer every method a browser or a checker sends, and everything they
reference (styles, scripts, the icon, the document) is served by HookHub itself."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/api/docs/", "/api/redoc/", "/api/schema/"]


class References(HTMLParser):
    """The URLs a page makes the browser fetch: link hrefs, script srcs, Redoc's spec-url."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.icons: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("href", "src", "spec-url"):
            if found.get(name):
                self.urls.append(found[name])
        if tag == "link" and found.get("rel") == "icon":
            self.icons.append(found["href"])


def references(client, path: str) -> References:
    response = client.get(path)
    assert response.status_code == 200
    parser = References()
    parser.feed(response.content.decode())
    return parser


@pytest.mark.parametrize("path", PAGES)
def test_options_answers_200_with_the_allowed_methods(client, path):
    response = client.options(path)
    assert response.status_code == 200
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("path", PAGES)
def test_head_answers_200(client, path):
    assert client.head(path).status_code == 200


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_every_url_a_docs_page_references_is_served_by_the_app(client, path):
    urls = references(client, path).urls
    assert urls, "the page references nothing?"
    for url in urls:
        assert url.startswith("/"), url  # no outside request
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_a_docs_page_names_its_icon_so_the_browser_does_not_ask_for_favicon_ico(client, path):
    icons = references(client, path).icons
    assert len(icons) == 1
    icon = client.get(icons[0])
    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/png"
