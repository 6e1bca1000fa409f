"""The nurse console as the tests run it: its commands, and a real waitress server in its own process."""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from typing import Dict, Iterator

from tests.conftest import ROOT, VENV_BIN, free_port, start_process, stop_process, wait_for_http

STAFF_PASSWORD = "correct horse battery staple"


def console_env(database_url: str) -> Dict[str, str]:
    return {**os.environ, "CLINIC_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT), "CLINIC_WEBHOOK_URL": ""}


def console_command(env: Dict[str, str], *args: str, stdin: str = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "python"), "-m", "clinic.console", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def create_staff(env: Dict[str, str], name: str, password: str = STAFF_PASSWORD) -> None:
    result = console_command(env, "create-user", name, "--password-stdin", stdin=password + "\n")
    assert result.returncode == 0, result.stderr


def create_token(env: Dict[str, str], name: str) -> str:
    result = console_command(env, "create-token", name)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@contextmanager
def running_console(env: Dict[str, str], log_name: str = "console.log") -> Iterator[str]:
    """A console on a free port; yields its base URL."""
    port = free_port()
    process = start_process([str(VENV_BIN / "python"), "-m", "clinic.console", "--port", str(port)], log_name, env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/login", timeout=60, process=process)
        yield base
    finally:
        stop_process(process)
