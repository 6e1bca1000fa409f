"""The webhook outbox against a fake receiver (the clinic's paging system is outside the product)
that fails at first: notices arrive late, but they arrive, once delivered they stop."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import List

import pytest

from clinic.handoff.notifier import NotifierConfig, run_once
from tests.conftest import ROOT, VENV_BIN, free_port, start_process, stop_process
from tests.handoff_samples import PII_STRINGS, fresh_store, sample_handoff


class FakeReceiver:
    """An HTTP receiver that answers 503 to the first `failures` requests, then 204."""

    def __init__(self, failures: int = 0, port: int = None):
        self.failures = failures
        self.requests: List[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"body": body, "headers": dict(self.headers)})
                    failing = len(receiver.requests) <= receiver.failures
                self.send_response(503 if failing else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port or free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/handoff"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self) -> List[dict]:
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests[self.failures :]]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def store(tmp_path):
    store = fresh_store(f"sqlite:///{tmp_path / 'handoffs.db'}")
    yield store
    store.dispose()


def drain(store, config, until, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run_once(store, config)
        if until():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_a_failing_receiver_gets_the_notice_later_once(store):
    receiver = FakeReceiver(failures=3)
    try:
        handoff, _ = store.create_handoff(sample_handoff(0, urgency="urgent", kind="urgent"), notify=True)
        config = NotifierConfig(
            webhook_url=receiver.url, console_url="https://console.example", backoff_base=0.05, backoff_max=0.2
        )
        drain(store, config, until=lambda: receiver.delivered())
        for _ in range(5):
            run_once(store, config)
        assert len(receiver.requests) == 4, "three failures, one delivery, nothing after it"
        (notice,) = receiver.delivered()
        assert notice == {
            "reference": handoff["reference"],
            "kind": "urgent",
            "urgency": "urgent",
            "created_at": notice["created_at"],
            "console_url": f"https://console.example/handoffs/{handoff['reference']}",
        }
        assert not any(value in receiver.requests[-1]["body"].decode() for value in PII_STRINGS)
        (row,) = store.outbox()
        assert row["delivered_at"] is not None and row["attempts"] == 4
    finally:
        receiver.close()


def test_retries_back_off(store):
    receiver = FakeReceiver(failures=100)
    try:
        store.create_handoff(sample_handoff(), notify=True)
        config = NotifierConfig(webhook_url=receiver.url, backoff_base=0.3, backoff_max=10)
        run_once(store, config)
        run_once(store, config)  # not due yet: the first retry waits at least backoff_base
        assert len(receiver.requests) == 1
        time.sleep(0.4)
        run_once(store, config)
        assert len(receiver.requests) == 2
        run_once(store, config)  # second retry waits twice as long
        time.sleep(0.4)
        run_once(store, config)
        assert len(receiver.requests) == 2
        assert store.outbox()[0]["last_error"] == "HTTP 503"
    finally:
        receiver.close()


def test_an_unreachable_receiver_keeps_the_notice_until_it_comes_up(store):
    port = free_port()
    config = NotifierConfig(webhook_url=f"http://127.0.0.1:{port}/hook", backoff_base=0.05, backoff_max=0.1)
    store.create_handoff(sample_handoff(), notify=True)
    for _ in range(3):
        run_once(store, config)
        time.sleep(0.12)
    (row,) = store.outbox()
    assert row["delivered_at"] is None and row["attempts"] == 3 and row["last_error"].startswith("unreachable")
    receiver = FakeReceiver(port=port)
    try:
        drain(store, config, until=lambda: receiver.delivered())
        assert store.outbox()[0]["delivered_at"] is not None
    finally:
        receiver.close()


def test_notices_are_signed_when_a_secret_is_set(store):
    receiver = FakeReceiver()
    try:
        store.create_handoff(sample_handoff(), notify=True)
        run_once(store, NotifierConfig(webhook_url=receiver.url, secret="s3cret"))
        request = receiver.requests[0]
        expected = hmac.new(b"s3cret", request["body"], hashlib.sha256).hexdigest()
        assert request["headers"]["X-Clinic-Signature"] == f"sha256={expected}"
        assert request["headers"]["X-Clinic-Notice-Id"]
    finally:
        receiver.close()


def test_the_notifier_process_delivers_despite_failures(tmp_path):
    url = f"sqlite:///{tmp_path / 'handoffs.db'}"
    store = fresh_store(url)
    receiver = FakeReceiver(failures=2)
    env = {**os.environ, "CLINIC_DATABASE_URL": url, "CLINIC_WEBHOOK_URL": receiver.url, "PYTHONPATH": str(ROOT)}
    process = start_process(
        [
            str(VENV_BIN / "python"),
            "-m",
            "clinic.handoff.notifier",
            "--interval",
            "0.1",
            "--backoff-base",
            "0.1",
            "--backoff-max",
            "0.3",
        ],
        "notifier.log",
        env,
    )
    try:
        references = {store.create_handoff(sample_handoff(i), notify=True)[0]["reference"] for i in range(3)}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and {n["reference"] for n in receiver.delivered()} != references:
            assert process.poll() is None, "the notifier exited"
            time.sleep(0.1)
        assert {n["reference"] for n in receiver.delivered()} == references
        assert all(row["delivered_at"] for row in store.outbox())
    finally:
        stop_process(process)
        receiver.close()
        store.dispose()
