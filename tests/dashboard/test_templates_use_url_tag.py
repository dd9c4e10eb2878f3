"""No template hard-codes one of the site's own paths: links, form targets and sources come
from {% url %} or {% static %}, so moving a URL in a urls.py cannot leave a dead link."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

# An attribute whose value starts with "/" (but not "//host", which is another site).
HARD_CODED = re.compile(
    r"""\b(?:href|action|formaction|src|spec-url)\s*=\s*["']\s*/(?!/)""", re.IGNORECASE
)


def template_files() -> list[Path]:
    roots = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file())


def test_the_pattern_catches_hard_coded_paths_and_spares_url_tags():
    assert HARD_CODED.search('<a href="/api/schema/">')
    assert HARD_CODED.search("<form action='/review/audit/'>")
    assert not HARD_CODED.search("<a href=\"{% url 'schema' %}\">")
    assert not HARD_CODED.search('<a href="?before=3">')
    assert not HARD_CODED.search('<a href="https://www.standardwebhooks.com/">')


def test_no_template_contains_a_hard_coded_internal_path():
    files = template_files()
    assert files, "no templates found"
    found = [
        f"{path.relative_to(settings.BASE_DIR)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if HARD_CODED.search(line)
    ]
    assert not found, "use {% url %} or {% static %}:\n" + "\n".join(found)
