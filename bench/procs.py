"""Starting, watching and stopping the servers under measurement (one Rasa server and one action
server at a time), and reading their resident memory from /proc."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    # No webhook notifications and no telemetry from a benchmark.
    env["CLINIC_WEBHOOK_URL"] = ""
    env["RASA_TELEMETRY_ENABLED"] = "false"
    # The action server (rasa_sdk) listens on SANIC_HOST: loopback only.
    env.setdefault("SANIC_HOST", "127.0.0.1")
    env.update(extra or {})
    return env


def rasa_train(args: List[str], cache: Path, log_path: Optional[Path] = None) -> None:
    """``rasa train <args>`` with a Rasa cache of its own (Rasa's cache keys a classifier on its
    config and data, not on the features it is fed, so a shared cache could serve a stale one);
    output to ``log_path`` when given. Raises CalledProcessError when training fails."""
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") if log_path is not None else contextlib.nullcontext() as out:
        subprocess.run(
            [str(VENV_BIN / "rasa"), "train", *args],
            cwd=ROOT,
            env=server_env({"RASA_CACHE_DIRECTORY": str(cache)}),
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            check=True,
        )


def start(args: List[str], log_path: Path, env: Dict[str, str]) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")
    # Its own process group, so that stopping it also stops anything it started.
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: Optional[subprocess.Popen], timeout: float = 20.0) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def wait_for_http(url: str, timeout: float = 180.0, process: Optional[subprocess.Popen] = None) -> float:
    """Polls until `url` answers; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return time.monotonic() - started
        except Exception:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def wait_for_first_answer(base_url: str, started: float, process: subprocess.Popen, timeout: float = 240.0) -> float:
    """Seconds from `started` (the process's start) until the REST channel first answers a message."""
    body = json.dumps({"sender": "bench-first-answer", "message": "hello"}).encode()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"Rasa server exited with {process.returncode} before answering")
        request = urllib.request.Request(
            base_url + "/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                if response.status == 200 and json.loads(response.read()):
                    return time.monotonic() - started
        except Exception:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{base_url} gave no answer within {timeout}s")


def descendants(pid: int) -> List[int]:
    """`pid` and every process below it (from /proc/*/stat's parent ids)."""
    children: Dict[int, List[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields follow its last ")".
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_mib(pid: int) -> Dict[str, float]:
    """Resident memory (VmRSS) of a process and its children, and the sum of their peaks (VmHWM)."""
    pids = descendants(pid)
    return {
        "rss_mib": round(sum(_status_kib(p, "VmRSS") for p in pids) / 1024, 1),
        "peak_rss_mib": round(sum(_status_kib(p, "VmHWM") for p in pids) / 1024, 1),
        "processes": len(pids),
    }


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children."""
    total = 0
    for p in descendants(pid):
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        # utime and stime are fields 14 and 15 of stat; here counted from field 3 ("state").
        total += int(fields[11]) + int(fields[12])
    return total / _CLOCK_TICKS
