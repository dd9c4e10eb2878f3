"""`python -m demo.portcheck HOST PORT`: exit 1, saying so, when runserver could not listen
on HOST:PORT. `make run` runs it first: otherwise the demo's sample event went to whatever
held the port, the server failed to start, and make still exited 0.

Plain Python, no Django: it runs before the database is even migrated."""

from __future__ import annotations

import socket
import sys


def port_problem(host: str, port: int) -> str | None:
    """Why runserver could not listen on host:port, or None when it could."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As runserver does: a port left in TIME_WAIT by the last `make run` is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            return error.strerror or str(error)
    return None


def free_port_near(host: str, port: int, tries: int = 20) -> int | None:
    for candidate in range(port + 1, min(port + 1 + tries, 65536)):
        if port_problem(host, candidate) is None:
            return candidate
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m demo.portcheck HOST PORT", file=sys.stderr)
        return 2
    host, port = argv[0], int(argv[1])
    problem = port_problem(host, port)
    if problem is None:
        return 0
    other = free_port_near(host, port)
    hint = f"make run PORT={other}" if other else "make run PORT=<a free port>"
    print(
        f"Port {port} on {host} is not free ({problem}): something else is listening there.\n"
        f"Stop it, or run HookHub on another port: {hint}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
