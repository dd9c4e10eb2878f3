"""`hookhub ...` (the installed console script) and `python -m hookhub ...`: manage.py for
an installed HookHub, so `hookhub migrate`, `hookhub run_worker` work without a checkout."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hookhub.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    # Django names `python -m` runs "python -m django" in its usage lines.
    if os.path.basename(argv[0]) == "__main__.py":
        argv[0] = "python -m hookhub"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
