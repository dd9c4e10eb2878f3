"""Request rates as the settings spell them: `600/min`, `20/hour`, `off`.

One parser for both readers: hookhub/settings.py checks each HOOKHUB_THROTTLE_* value at
startup (a typo fails then, not at the first request), hookhub/throttling.py reads them at
request time. No Django imports, so the settings module can use it."""

from __future__ import annotations

import re
from typing import NamedTuple

UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
# A deployment that limits requests in front of HookHub (a gateway) may switch one off.
OFF_WORDS = {"off", "none"}

_RATE = re.compile(r"(\d+)\s*/\s*([a-z]+)")


class Rate(NamedTuple):
    count: int
    seconds: int


def parse_rate(text: str | None) -> Rate | None:
    """`N/unit` (s, sec, second, m, min, minute, h, hour, d, day, plurals too) as a Rate;
    None for `off`/`none`. ValueError, saying what is accepted, for anything else."""
    if text is None or text.strip().lower() in OFF_WORDS:
        return None
    match = _RATE.fullmatch(text.strip().lower())
    unit = match.group(2) if match else ""
    if unit not in UNIT_SECONDS and unit.endswith("s"):
        unit = unit[:-1]
    if match is None or unit not in UNIT_SECONDS or int(match.group(1)) < 1:
        raise ValueError(
            f"{text!r} is not a rate: use a number of requests per unit, such as 600/min, "
            "20/hour, 10/s or 1000/day (at least 1), or off."
        )
    return Rate(int(match.group(1)), UNIT_SECONDS[unit])
