"""What the processes of a run used: CPU per group of processes and peak memory, from /proc.

Read-only: every figure comes from /proc/<pid>/stat, /proc/<pid>/status, /proc/<pid>/fd and
/proc/stat. It tells which process was busy while a figure was measured, so each row can say
what limited it (a group near one core per process, or the machine near all its cores).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            text = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    return text[text.rfind(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def start_ticks(pid: int) -> int:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else 0


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, grandchildren, ...), oldest first."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        if fields:
            children.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return sorted(found, key=start_ticks)


def by_name(*names: str) -> list[int]:
    """Processes whose command name (/proc/<pid>/comm) is one of `names`, e.g. the database
    server's, which the bench did not start but whose CPU time it reports."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{entry}/comm") as handle:
                    if handle.read().strip() in names:
                        pids.append(int(entry))
    return pids


def status_kb(pid: int, field: str) -> int:
    """A `kB` line of /proc/<pid>/status (VmHWM: peak resident set; VmRSS: current)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def socket_count(pid: int) -> int:
    count = 0
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                    count += 1
    return count


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


class CpuMeter:
    """CPU time used by named groups of processes between start() and stop(), in cores.

    A group is a callable returning pids; it is asked at both ends, so processes started or
    ended in between are still counted for the part of the interval they were seen in."""

    def __init__(self, groups: dict[str, Callable[[], Iterable[int]]]) -> None:
        self.groups = groups
        self.before: dict[str, dict[int, float]] = {}
        self.began = 0.0
        self.machine = (0.0, 0.0)

    def _sample(self) -> dict[str, dict[int, float]]:
        return {
            name: {pid: cpu_seconds(pid) for pid in set(pids())}
            for name, pids in self.groups.items()
        }

    def start(self) -> CpuMeter:
        self.before = self._sample()
        self.machine = _machine_busy()
        self.began = time.monotonic()
        return self

    def stop(self) -> dict:
        """{"groups": {name: {"total": cores, "max": busiest process, "n": processes}},
        "machine": cores busy in all}."""
        after = self._sample()
        elapsed = max(time.monotonic() - self.began, 1e-6)
        busy, _total = _machine_busy()
        groups = {}
        for name, pids in after.items():
            start = self.before.get(name, {})
            each = [max(0.0, sec - start.get(pid, 0.0)) / elapsed for pid, sec in pids.items()]
            groups[name] = {
                "total": round(sum(each), 2),
                "max": round(max(each, default=0.0), 2),
                "n": len(each),
            }
        return {"groups": groups, "machine": round((busy - self.machine[0]) / elapsed, 2)}


def describe_cpu(used: dict) -> str:
    """`CPU in cores: workers 1.52 (busiest process 0.81), publisher 0.31, ...; machine busy
    1.95 of 2`."""
    cores = os.cpu_count() or 1
    parts = []
    for name, group in used.get("groups", {}).items():
        part = f"{name} {group['total']:.2f}"
        if group["n"] > 1:
            part += f" (busiest process {group['max']:.2f})"
        parts.append(part)
    machine = used.get("machine", 0.0)
    other = machine - sum(group["total"] for group in used.get("groups", {}).values())
    if other >= 0.05:
        parts.append(f"everything else {other:.2f}")
    return f"CPU in cores: {', '.join(parts)}; machine busy {machine:.2f} of {cores}"
