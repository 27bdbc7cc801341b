#!/usr/bin/env python
"""Django's command-line utility. platform/ goes on sys.path as a plain folder, never as a package,
so the standard library's `platform` module stays the one everybody imports."""

import os
import sys
from pathlib import Path


def main():
    root = Path(__file__).resolve().parent
    sys.path.insert(1, str(root / "platform"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
