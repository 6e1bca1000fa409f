"""Shared fixtures: the trained model, and a real Rasa server and action server on test ports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "tests" / "artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 120.0, process: subprocess.Popen = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def start_process(args: List[str], log_name: str, env: Dict[str, str]) -> subprocess.Popen:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / log_name, "w")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def trained_model() -> Path:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        pytest.fail("no trained model: run `make train` (make test does it)")
    return models[-1]


@pytest.fixture(scope="session")
def test_env(tmp_path_factory) -> Dict[str, str]:
    """Environment for the servers under test: their own handoff database, never the clinic's."""
    workdir = tmp_path_factory.mktemp("servers")
    env = dict(os.environ)
    env["CLINIC_DATABASE_URL"] = f"sqlite:///{workdir / 'handoffs.db'}"
    env["CLINIC_WEBHOOK_URL"] = ""
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    # Rasa keeps connections to the action server open for 15 s; the action server must not drop
    # them sooner (Sanic's default is 5 s), or a busy moment loses an action call.
    env["SANIC_KEEP_ALIVE_TIMEOUT"] = "75"
    env["PYTHONPATH"] = str(ROOT)
    env["CLINIC_TEST_WORKDIR"] = str(workdir)
    return env


@pytest.fixture(scope="session")
def action_server(test_env) -> Iterator[str]:
    port = free_port()
    process = start_process(
        [str(VENV_BIN / "rasa"), "run", "actions", "--port", str(port), "--actions", "actions"],
        "action_server.log",
        test_env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/health", process=process)
        yield url
    finally:
        stop_process(process)


def start_rasa(model: Path, action_url: str, env: Dict[str, str], log_name: str):
    """Start a Rasa server with its own tracker database; returns (process, base_url)."""
    workdir = Path(env["CLINIC_TEST_WORKDIR"])
    port = free_port()
    endpoints = workdir / f"endpoints-{port}.yml"
    endpoints.write_text(
        json.dumps(
            {
                "action_endpoint": {"url": f"{action_url}/webhook"},
                "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": str(workdir / f"trackers-{port}.db")},
                "lock_store": {"type": "clinic.server.lock_store.InMemoryConversationLockStore"},
            }
        )
    )
    process = start_process(
        [
            str(VENV_BIN / "rasa"),
            "run",
            "--model",
            str(model),
            "--port",
            str(port),
            "--endpoints",
            str(endpoints),
            "--credentials",
            "credentials.yml",
            "--cors",
            "*",
            "--enable-api",
        ],
        log_name,
        env,
    )
    url = f"http://127.0.0.1:{port}"
    # Loading the model (spaCy, the encoder, the red-flag backstop fitted at load) is slow on a busy
    # 2-core machine; a generous wait cannot make a passing run fail.
    wait_for_http(url + "/status", timeout=600, process=process)
    return process, url


@pytest.fixture(scope="session")
def rasa_server(trained_model, action_server, test_env) -> Iterator[str]:
    process, url = start_rasa(trained_model, action_server, test_env, "rasa_server.log")
    try:
        yield url
    finally:
        stop_process(process)


class Patient:
    """One conversation over the REST channel, as the widget holds it."""

    def __init__(self, base_url: str, sender: str = None):
        self.base_url = base_url
        self.sender = sender or f"test-{uuid.uuid4().hex[:12]}"

    def say(self, text: str) -> List[dict]:
        body = json.dumps({"sender": self.sender, "message": text}).encode()
        request = urllib.request.Request(
            self.base_url + "/webhooks/rest/webhook",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def text_of(self, text: str) -> str:
        return "\n".join(m.get("text", "") for m in self.say(text))


@pytest.fixture
def patient(rasa_server) -> Patient:
    return Patient(rasa_server)


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the widget's browser tests, shared by every module that uses it (Playwright's
    sync API allows one at a time; a module that needs its own overrides this fixture)."""
    from playwright.sync_api import sync_playwright

    from tests.test_widget_browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make browser)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
