"""Peers the benchmarks compare against that must not become project dependencies.

Each peer gets its own virtual environment under benchmarks/_venv_<name>/,
made on first use with ``python -m venv`` and filled by pip; a child script
then runs in it and talks to the benchmark through files under
benchmarks/_work/ (NumPy ``.npy``, Parquet, JSON).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import venv
from pathlib import Path

BENCH = Path(__file__).resolve().parent


class PeerUnavailable(Exception):
    """Raised when a peer's environment cannot be made or its packages cannot be installed."""


def _tail(text: str, lines: int = 4) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:]) or "(no output)"


def available_versions(package: str) -> list[str]:
    """Versions of ``package`` the package index offers, newest first (``pip index versions``)."""
    run = subprocess.run([sys.executable, "-m", "pip", "index", "versions", package],
                         capture_output=True, text=True)
    match = re.search(r"Available versions:\s*(.+)", run.stdout)
    if run.returncode != 0 or not match:
        raise PeerUnavailable(f"pip index versions {package} failed: {_tail(run.stderr or run.stdout)}")
    return [v.strip() for v in match.group(1).split(",")]


def ready_peer(name: str, probe: str) -> Path | None:
    """The Python of benchmarks/_venv_<name>/ if it exists and ``probe`` (a line of Python) runs there."""
    python = BENCH / f"_venv_{name}" / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", probe], capture_output=True).returncode == 0:
        return python
    return None


def peer_python(name: str, requirements: list[str], probe: str) -> Path:
    """The Python of benchmarks/_venv_<name>/, with ``requirements`` installed.

    ``probe`` is a line of Python that succeeds once the environment is ready;
    when it already does, nothing is installed again.
    """
    folder = BENCH / f"_venv_{name}"
    python = folder / "bin" / "python"
    if ready_peer(name, probe):
        return python
    if not python.exists():
        print(f"  making {folder.relative_to(BENCH.parent)} ...", flush=True)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(folder)
        except Exception as exc:  # noqa: BLE001 - any failure means the peer is skipped
            raise PeerUnavailable(f"python -m venv {folder} failed: {exc}") from exc
    print(f"  pip install {' '.join(requirements)} ...", flush=True)
    run = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                          *requirements], capture_output=True, text=True)
    if run.returncode != 0:
        raise PeerUnavailable(f"pip install {' '.join(requirements)} failed: {_tail(run.stderr)}")
    check = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    if check.returncode != 0:
        raise PeerUnavailable(f"installed, but `{probe}` fails: {_tail(check.stderr)}")
    return python


def run_child(python: Path | str, args: list[str], timeout_s: float = 3600) -> dict:
    """Run ``python args...``; the child prints one JSON object as its last line."""
    run = subprocess.run([str(python), *args], capture_output=True, text=True, timeout=timeout_s)
    if run.returncode != 0:
        raise PeerUnavailable(f"child failed (exit {run.returncode}): {_tail(run.stderr, 6)}")
    return json.loads(run.stdout.strip().splitlines()[-1])
