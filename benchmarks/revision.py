"""Which code a benchmark measured: the commit, and any uncommitted changes to the package."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def revision() -> str:
    """``<commit> (+ uncommitted: <files>)`` for visibility/, or why it cannot be told."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              check=True).stdout.rstrip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = [line[3:] for line in git("status", "--porcelain", "--", "visibility").splitlines()]
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit} + uncommitted: {', '.join(changed)}" if changed else commit
