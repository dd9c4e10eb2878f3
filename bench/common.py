"""What every benchmark shares: the raw baselines, result rows, medians, test data helpers.

Imported only after django.setup() (by bench.run_config).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import statistics
import time
from dataclasses import asdict, dataclass, field

import requests

REPEATS = 3
PAYLOAD_PAD = 960  # bytes of filler: a ~1 KB JSON body on the wire, like the baseline


def payload(i: int) -> dict:
    return {"id": i, "note": "x" * PAYLOAD_PAD}


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(round(q / 100 * len(ordered) + 0.5))))
    return ordered[rank - 1]


@dataclass
class Row:
    """One line of the results table: a baseline and HookHub's figure measured in one run."""

    bench: str
    metric: str
    baseline: float
    baseline_label: str
    figure: float
    figure_label: str
    unit: str
    ratio: float
    target: str
    met: bool
    runs: list = field(default_factory=list)  # per-repeat (baseline, figure, ratio)
    limit: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def ratio_row(
    bench: str,
    metric: str,
    runs: list[tuple[float, float]],
    *,
    unit: str,
    baseline_label: str,
    figure_label: str,
    target: str,
    check,
    limit: str = "",
) -> Row:
    """Median baseline, median figure and the median of the per-repeat ratios."""
    ratios = [figure / baseline if baseline else float("nan") for baseline, figure in runs]
    ratio = median(ratios)
    return Row(
        bench=bench,
        metric=metric,
        baseline=median([b for b, _ in runs]),
        baseline_label=baseline_label,
        figure=median([f for _, f in runs]),
        figure_label=figure_label,
        unit=unit,
        ratio=ratio,
        target=target,
        met=bool(check(ratio)),
        runs=[[b, f, r] for (b, f), r in zip(runs, ratios, strict=True)],
        limit=limit,
    )


def print_row(row: Row) -> None:
    verdict = "MET" if row.met else "MISSED"
    print(
        f"  [{row.bench}] {row.metric}: baseline {row.baseline:.4g} {row.unit} "
        f"({row.baseline_label}), HookHub {row.figure:.4g} {row.unit} ({row.figure_label}), "
        f"ratio {row.ratio:.3g} (target {row.target}) {verdict}",
        flush=True,
    )


# --- the raw client baselines ----------------------------------------------------------------
RAW_SECRET = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")


def _raw_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # as HookHub's transport does; the faster (stricter) baseline
    return session


def _raw_post(session: requests.Session, url: str, i: int) -> None:
    body = json.dumps(
        {"type": "bench", "timestamp": "2026-11-28T10:00:00Z", "data": payload(i)},
        separators=(",", ":"),
    ).encode()
    msg_id = f"msg_raw{i}"
    stamp = str(int(time.time()))
    digest = hmac.new(RAW_SECRET, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    response = session.post(
        url,
        data=body,
        headers={
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": stamp,
            "webhook-signature": "v1," + base64.b64encode(digest).decode(),
        },
        timeout=(3, 15),
        allow_redirects=False,
    )
    response.content  # noqa: B018 - read the answer, as HookHub does
    if response.status_code != 200:
        raise RuntimeError(f"The receiver answered {response.status_code}")


def raw_rate(url: str, n: int) -> float:
    """Serial signed ~1 KB POSTs over one kept-alive requests.Session: requests per second."""
    session = _raw_session()
    _raw_post(session, url, -1)  # connect outside the clock
    start = time.perf_counter()
    for i in range(n):
        _raw_post(session, url, i)
    elapsed = time.perf_counter() - start
    session.close()
    return n / elapsed


def raw_latencies(url: str, n: int) -> list[float]:
    """Seconds per request for `n` serial signed POSTs over one kept-alive session."""
    session = _raw_session()
    _raw_post(session, url, -1)
    out = []
    for i in range(n):
        start = time.perf_counter()
        _raw_post(session, url, i)
        out.append(time.perf_counter() - start)
    session.close()
    return out


# --- test data ---------------------------------------------------------------------------------
def event_type(name: str):
    from subscriptions.models import EventType

    obj, _ = EventType.objects.get_or_create(
        name=name,
        defaults={
            "description": f"Benchmark event {name}.",
            "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
            "example": {"id": 1},
            "source": EventType.Source.ADMIN,
        },
    )
    return obj


def user(username: str, *, staff: bool = False):
    from django.contrib.auth import get_user_model

    obj, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": staff, "email": f"{username}@example.com"}
    )
    return obj


def endpoints(owner, type_obj, urls: list[str]) -> list:
    """Enabled endpoints at `urls`, subscribed to `type_obj`; bulk-inserted (each still gets
    its own encrypted secret)."""
    from subscriptions import secrets
    from subscriptions.models import Endpoint

    rows = Endpoint.objects.bulk_create(
        [
            Endpoint(
                owner=owner,
                url=url,
                description="bench",
                secret_encrypted=secrets.encrypt(secrets.generate_secret()),
            )
            for url in urls
        ]
    )
    if any(row.pk is None for row in rows):
        rows = list(Endpoint.objects.filter(owner=owner, description="bench").order_by("-id"))[
            : len(urls)
        ]
    through = Endpoint.event_types.through
    through.objects.bulk_create(
        [through(endpoint_id=row.pk, eventtype_id=type_obj.pk) for row in rows]
    )
    return rows
