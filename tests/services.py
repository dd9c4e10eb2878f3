"""`python -m tests.services`: exit 0 when PostgreSQL and Redis answer on 127.0.0.1."""

from __future__ import annotations

import socket
import sys

SERVICES = {"PostgreSQL": ("127.0.0.1", 5432), "Redis": ("127.0.0.1", 6379)}


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def main() -> int:
    missing = [name for name, address in SERVICES.items() if not reachable(*address)]
    if missing:
        print(f"not reachable: {', '.join(missing)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
