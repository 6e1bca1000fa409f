"""Delivers the webhook outbox: a small JSON notice per new handoff, for the clinic's paging or
ticket system.

A notice is written in the same transaction as its handoff and stays in the outbox until the
receiver answers 2xx; failures are retried with exponential backoff, without limit, so a failing
receiver delays a notice but never loses it. Delivery is at least once: receivers can de-duplicate
on the X-Clinic-Notice-Id header. Notices carry no patient details, only the reference, kind,
urgency, time and a link to the console, where staff must sign in.

Run: python -m clinic.handoff.notifier  (or --once to drain what is due and exit)
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import random
import signal
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Dict, Optional

from clinic.handoff.store import HandoffStore, StoreUnavailable, get_store, utcnow
from clinic.settings import environment, get_settings

logger = logging.getLogger("clinic.handoff.notifier")
DEFAULT_CONSOLE_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class NotifierConfig:
    webhook_url: str
    console_url: str = DEFAULT_CONSOLE_URL
    secret: Optional[str] = None
    timeout: float = 10.0
    backoff_base: float = 5.0
    backoff_max: float = 3600.0

    @classmethod
    def from_environment(cls, **overrides: Any) -> "NotifierConfig":
        values: Dict[str, Any] = dict(
            webhook_url=get_settings().webhook_url,
            console_url=environment().console_url or DEFAULT_CONSOLE_URL,
            secret=environment().webhook_secret,
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def notice_body(payload: Dict[str, Any], console_url: str) -> bytes:
    body = dict(payload)
    body["console_url"] = f"{console_url.rstrip('/')}/handoffs/{payload['reference']}"
    return json.dumps(body, sort_keys=True).encode("utf-8")


def retry_delay(attempts: int, config: NotifierConfig) -> float:
    # Jitter spreads retries from many notices so a recovering receiver is not hit all at once.
    delay = min(config.backoff_base * (2 ** max(attempts - 1, 0)), config.backoff_max)
    return delay * random.uniform(1.0, 1.2)


def send(notice_id: int, body: bytes, config: NotifierConfig) -> Optional[str]:
    """POST one notice; None when delivered, else a short error that names no patient."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "tpi-assistant-notifier",
        "X-Clinic-Notice-Id": str(notice_id),
    }
    if config.secret:
        digest = hmac.new(config.secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        headers["X-Clinic-Signature"] = f"sha256={digest}"
    request = urllib.request.Request(config.webhook_url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=config.timeout) as response:
            return None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"unreachable ({type(reason).__name__})"


def run_once(store: HandoffStore, config: NotifierConfig) -> int:
    """Send every notice that is due; returns how many were delivered."""
    delivered = 0
    for notice in store.lease_notices():
        reference = notice["payload"].get("reference")
        error = send(notice["id"], notice_body(notice["payload"], config.console_url), config)
        if error is None:
            store.mark_delivered(notice["id"])
            delivered += 1
            logger.info("notice %s for %s delivered (attempt %d)", notice["id"], reference, notice["attempts"] + 1)
        else:
            attempts = notice["attempts"] + 1
            delay = retry_delay(attempts, config)
            store.mark_failed(notice["id"], error, utcnow() + timedelta(seconds=delay))
            logger.warning(
                "notice %s for %s not delivered: %s; retry %d in %.1fs", notice["id"], reference, error, attempts, delay
            )
    return delivered


def run_forever(store: HandoffStore, config: NotifierConfig, interval: float, stop: threading.Event) -> None:
    if not config.webhook_url:
        logger.warning("no webhook configured (webhook_url / CLINIC_WEBHOOK_URL): nothing will be sent")
    while not stop.is_set():
        if config.webhook_url:
            try:
                run_once(store, config)
            except StoreUnavailable as error:
                # The database being away is a reason to wait, not to stop: the notices are safe in it.
                logger.error("outbox unavailable (%s); trying again", error)
        stop.wait(interval)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clinic.handoff.notifier", description="Deliver handoff notices to the webhook."
    )
    parser.add_argument("--once", action="store_true", help="send what is due, then exit")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between outbox checks")
    parser.add_argument("--backoff-base", type=float, default=None, help="first retry delay in seconds (default 5)")
    parser.add_argument("--backoff-max", type=float, default=None, help="longest retry delay in seconds (default 3600)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = NotifierConfig.from_environment(backoff_base=args.backoff_base, backoff_max=args.backoff_max)
    store = get_store()
    if args.once:
        if not config.webhook_url:
            logger.warning("no webhook configured: nothing to send")
            return 0
        run_once(store, config)
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    logger.info("notifier started")
    run_forever(store, config, args.interval, stop)
    logger.info("notifier stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
