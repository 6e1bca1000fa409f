"""A throwaway redis-server on a loopback port, from Debian's package, for the lock-store tests.

Installs `redis-server` with apt-get when it is missing and the tests run as root; the tests that
need it are skipped only when it cannot be had."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional

import pytest

from tests.conftest import free_port


def redis_server_binary() -> Optional[str]:
    found = shutil.which("redis-server")
    if found:
        return found
    if shutil.which("apt-get") and Path("/proc/self").exists():
        import os

        if os.geteuid() == 0:
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            for command in (
                ["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "redis-server"],
            ):
                if subprocess.run(command, env=env, capture_output=True, timeout=600).returncode != 0:
                    return None
    return shutil.which("redis-server")


def run_redis() -> Iterator[int]:
    binary = redis_server_binary()
    if not binary:
        pytest.skip("redis-server is not installed and could not be installed (apt-get install redis-server)")
    import redis

    workdir = Path(tempfile.mkdtemp(prefix="redis-test-"))
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(workdir, ignore_errors=True)
