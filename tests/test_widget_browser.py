"""The chat widget in a real browser (Debian's Chromium driven by Playwright), on the demo site.

The main conversation runs against the real bot (conftest's `rasa_server`). A small fake REST
server stands in only where the real bot cannot be made to misbehave on demand: HTML in a bot
message, an error answer, an empty answer, a slow answer.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest
import yaml
from playwright.sync_api import expect

from clinic.settings import load_settings
from clinic.tools.demo_site import render_page
from tests.conftest import ARTIFACTS, ROOT, free_port, start_process, stop_process, wait_for_http

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDGET_JS = ROOT / "widget" / "tpi-chat.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
BOT_WAIT_MS = 90_000  # the first answers of a freshly started Rasa can take a while on 2 cores
HOSTILE = "<img src=x onerror=alert(1)>"

# ---------------------------------------------------------------- servers


class FakeBot:
    """A stand-in REST channel whose misbehaviour is chosen by the message it is sent."""

    def __init__(self) -> None:
        self.received: List[Dict[str, str]] = []
        self.busy_keys: set = set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _cors(self) -> None:
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "Content-Type")
                self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")

            def do_OPTIONS(self) -> None:
                self.send_response(204)
                self._cors()
                self.end_headers()

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body["_arrived"] = time.monotonic()
                fake.received.append(body)
                key = (body.get("metadata") or {}).get("idempotency_key")
                if body["message"] == "busy once please" and key not in fake.busy_keys:
                    fake.busy_keys.add(key)  # a replica busy or down: the widget tries once more
                    status, replies = 503, {"error": "busy"}
                else:
                    status, replies = fake.answer(body["sender"], body["message"])
                data = json.dumps(replies).encode()
                self.send_response(status)
                self._cors()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                # stamped before the reply is written: once it is written, the page may send its
                # next message, which another thread can stamp as arrived before this one resumes
                body["_answered"] = time.monotonic()
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def answer(sender: str, message: str):
        def say(text, buttons=None):
            reply = {"recipient_id": sender, "text": text}
            if buttons:
                reply["buttons"] = buttons
            return reply

        if message == "/greet":
            return 200, [say("Hello from the fake bot.", [{"title": "<b>Bold?</b>", "payload": "html please"}])]
        if message == "html please":
            return 200, [say(HOSTILE + "\nFrom: <script>alert(2)</script>")]
        if message == "links please":
            return 200, [
                say(
                    "Read https://example.org/tpi?a=1&b=2. Not javascript:alert(1) "
                    "nor ftp://example.org/x. Call (555) 010-0142 or tel:+15550100143."
                )
            ]
        if message == "empty please":
            return 200, []
        if message == "error please":
            return 500, {"error": "boom"}
        if message == "slow please":
            time.sleep(2.5)
        return 200, [say("Echo: " + message)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def fake_bot() -> Iterator[FakeBot]:
    bot = FakeBot()
    yield bot
    bot.close()


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> Iterator[Callable[..., str]]:
    """Start `python -m clinic.tools.demo_site` for a bot URL (and settings file); returns the page URL."""
    started: Dict[tuple, tuple] = {}

    def start(rasa_url: str, settings_file: Optional[Path] = None) -> str:
        key = (rasa_url, settings_file)
        if key not in started:
            env = dict(os.environ, PYTHONPATH=str(ROOT))
            if settings_file:
                env["CLINIC_SETTINGS_FILE"] = str(settings_file)
            port = free_port()
            process = start_process(
                [sys.executable, "-m", "clinic.tools.demo_site", "--port", str(port), "--rasa-url", rasa_url],
                f"demo_site_{len(started)}.log",
                env,
            )
            url = f"http://127.0.0.1:{port}/"
            wait_for_http(url, timeout=30, process=process)
            started[key] = (process, url)
        return started[key][1]

    yield start
    for process, _ in started.values():
        stop_process(process)


@pytest.fixture(scope="module")
def other_settings(tmp_path_factory) -> Path:
    """Settings unlike the shipped ones, with markup in the clinic's name, to prove the page uses them."""
    raw = yaml.safe_load((ROOT / "clinic_settings.yml").read_text())
    raw["clinic_name"] = 'Fake "Clinic" ' + HOSTILE
    raw["nurse_line"]["phone"] = "(555) 010-0177"
    raw["emergency_number"] = "112"
    path = tmp_path_factory.mktemp("settings") / "clinic_settings.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


# ---------------------------------------------------------------- browser


# `browser`: one Chromium for the session, in tests/conftest.py (a session fixture defined here and
# imported by another module would start a second Playwright, which the sync API refuses).


@pytest.fixture
def open_page(browser):
    """New isolated tabs (own sessionStorage); each records alert() calls and page errors."""
    contexts = []

    def make(url: str, viewport=DESKTOP, **options):
        context = browser.new_context(viewport=viewport, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.alerts = []
        page.errors = []
        page.on("dialog", lambda dialog: (page.alerts.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(url)
        page.get_by_role("button", name="Chat with us").wait_for()
        return page

    yield make
    for context in contexts:
        context.close()


def focused_matches(page, selector: str) -> bool:
    return page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector)


def press_until_focused(page, selector: str, key: str = "Tab", limit: int = 40) -> int:
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        if focused_matches(page, selector):
            return presses
    raise AssertionError(f"{key} x{limit} never reached {selector}")


def transcript(page) -> List[dict]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.tpi-log > .tpi-msg')).map(m => ({
            who: ['user', 'bot', 'notice'].find(w => m.classList.contains('tpi-' + w)),
            text: Array.from(m.querySelectorAll('p')).map(p => p.textContent).join('\\n'),
            sources: Array.from(m.querySelectorAll('.tpi-source')).map(p => p.textContent),
        }))"""
    )


def wait_until_idle(page) -> None:
    # Locator waits, not wait_for_function: the demo page's CSP forbids the eval that one needs.
    expect(page.locator(".tpi-status .tpi-typing")).to_have_count(0, timeout=BOT_WAIT_MS)


def stored(page, server: str) -> dict:
    return page.evaluate("key => JSON.parse(sessionStorage.getItem(key))", "tpi-chat:" + server.rstrip("/"))


def reply_titles(page) -> List[str]:
    return page.locator(".tpi-log .tpi-reply").all_text_contents()


def stale_reply_groups(page) -> int:
    """Quick-reply groups above the patient's latest message (there should be none)."""
    return page.evaluate(
        """() => {
            const users = document.querySelectorAll('.tpi-log > .tpi-user');
            const last = users[users.length - 1];
            return Array.from(document.querySelectorAll('.tpi-replies')).filter(g =>
                last && (g.compareDocumentPosition(last) & Node.DOCUMENT_POSITION_FOLLOWING)).length;
        }"""
    )


def open_by_keyboard(page) -> None:
    press_until_focused(page, ".tpi-launcher")
    page.keyboard.press("Enter")
    page.get_by_role("dialog").wait_for()


def user_texts_in_tracker(rasa_url: str, sender: str) -> List[str]:
    with urllib.request.urlopen(f"{rasa_url}/conversations/{sender}/tracker", timeout=30) as response:
        tracker = json.loads(response.read())
    return [e.get("text") for e in tracker["events"] if e["event"] == "user"]


def serious_violations(page) -> List[dict]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


# ---------------------------------------------------------------- the real bot


@pytest.fixture(scope="module")
def real_site(rasa_server, demo_site) -> str:
    return demo_site(rasa_server)


def test_keyboard_conversation_survives_reload_and_starts_over(real_site, rasa_server, open_page):
    page = open_page(real_site)
    settings = load_settings()

    open_by_keyboard(page)
    assert page.get_by_role("button", name="Chat with us").get_attribute("aria-expanded") == "true"
    wait_until_idle(page)
    greeting = transcript(page)
    assert [m["who"] for m in greeting] == ["bot"], greeting
    assert "not a person" in greeting[0]["text"] and settings.emergency_number in greeting[0]["text"]
    assert reply_titles(page), "the greeting's quick replies are missing"
    # Opening the panel puts the patient straight in the message box.
    assert focused_matches(page, "textarea")

    page.keyboard.type("what is a trigger point injection?")
    page.keyboard.press("Enter")
    wait_until_idle(page)
    after_question = transcript(page)
    assert after_question[1] == {"who": "user", "text": "what is a trigger point injection?", "sources": []}
    answer = after_question[2]
    assert answer["who"] == "bot" and answer["sources"] and answer["sources"][0].startswith("From:")
    follow_ups = reply_titles(page)
    assert follow_ups, "the answer's follow-up buttons are missing"
    # The greeting's buttons go once the patient has moved on: only the latest answer offers any.
    assert stale_reply_groups(page) == 0

    # Back from the message box to the nearest follow-up button, and press it: keyboard only.
    press_until_focused(page, ".tpi-reply", key="Shift+Tab", limit=10)
    chosen = page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    wait_until_idle(page)
    after_button = transcript(page)
    assert after_button[len(after_question)] == {"who": "user", "text": chosen, "sources": []}
    follow_answer = after_button[len(after_question) + 1 :]
    assert any(m["sources"] for m in follow_answer), follow_answer
    assert stale_reply_groups(page) == 0
    assert focused_matches(page, "textarea")

    sender = stored(page, rasa_server)["sender"]
    # The bot received the button's payload, not its title, and both turns under one sender.
    tracker_texts = user_texts_in_tracker(rasa_server, sender)
    assert "what is a trigger point injection?" in tracker_texts
    assert chosen not in tracker_texts and len(tracker_texts) >= 3

    page.reload()
    page.get_by_role("dialog").wait_for()
    assert transcript(page) == after_button
    assert stored(page, rasa_server)["sender"] == sender
    page.get_by_label("Your message").fill("how soon does it work?")
    page.get_by_label("Your message").press("Enter")
    wait_until_idle(page)
    assert "how soon does it work?" in user_texts_in_tracker(rasa_server, sender)
    assert "what is a trigger point injection?" in user_texts_in_tracker(rasa_server, sender)

    press_until_focused(page, ".tpi-restart", key="Shift+Tab")
    assert page.evaluate("document.activeElement.textContent") == "Start over"
    page.keyboard.press("Enter")
    wait_until_idle(page)
    fresh = transcript(page)
    assert [m["who"] for m in fresh] == ["bot"] and "not a person" in fresh[0]["text"]
    new_sender = stored(page, rasa_server)["sender"]
    assert new_sender != sender
    assert user_texts_in_tracker(rasa_server, new_sender) == ["/greet"]

    page.keyboard.press("Escape")
    assert page.get_by_role("dialog").is_hidden()
    assert focused_matches(page, ".tpi-launcher")
    assert page.get_by_role("button", name="Chat with us").get_attribute("aria-expanded") == "false"
    assert not page.errors


def test_patient_markup_is_shown_as_text(real_site, open_page):
    page = open_page(real_site)
    page.get_by_role("button", name="Chat with us").click()
    wait_until_idle(page)
    page.get_by_label("Your message").fill(HOSTILE)
    page.get_by_label("Your message").press("Enter")
    wait_until_idle(page)
    assert {"who": "user", "text": HOSTILE, "sources": []} in transcript(page)
    assert page.locator(".tpi-chat img").count() == 0
    assert not page.alerts


@pytest.mark.parametrize("name,viewport", [("phone", PHONE), ("desktop", DESKTOP)])
def test_layout_and_accessibility(name, viewport, real_site, open_page):
    # bypass_csp only lets axe's own script in; the widget itself ran under the CSP above.
    page = open_page(real_site, viewport=viewport, bypass_csp=True)
    page.get_by_role("button", name="Chat with us").click()
    wait_until_idle(page)
    page.get_by_label("Your message").fill("what is a trigger point injection?")
    page.get_by_label("Your message").press("Enter")
    wait_until_idle(page)
    assert any(m["sources"] for m in transcript(page))

    panel = page.get_by_role("dialog").bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= viewport["width"]
    assert panel["y"] >= 0 and panel["y"] + panel["height"] <= viewport["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    for control in ("Talk to a nurse", "Send", "Start over"):
        box = page.get_by_role("button", name=control, exact=True).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], control
    if name == "phone":
        assert panel["width"] == viewport["width"]
        assert page.get_by_role("button", name="Chat with us").is_hidden()
    else:
        assert panel["width"] < viewport["width"] / 2

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"widget-{name}.png"))
    assert serious_violations(page) == []


# ---------------------------------------------------------------- failures and hostile input


def test_server_down_gives_the_nurse_line(demo_site, open_page):
    settings = load_settings()
    closed_port = free_port()
    page = open_page(demo_site(f"http://127.0.0.1:{closed_port}"))
    page.get_by_role("button", name="Chat with us").click()
    notice = page.locator(".tpi-notice")
    notice.wait_for()
    text = notice.text_content()
    assert "can't reach" in text
    assert settings.nurse_line.phone in text and settings.emergency_number in text
    digits = re.sub(r"[^\d+]", "", settings.nurse_line.phone)
    assert notice.get_by_role("link", name=settings.nurse_line.phone).get_attribute("href") == f"tel:{digits}"

    page.get_by_role("button", name="Try again").click()
    expect(page.locator(".tpi-notice")).to_have_count(2)
    assert page.get_by_role("button", name="Try again").count() == 1


def test_error_and_empty_answers_are_explained(fake_bot, other_settings, demo_site, open_page):
    page = open_page(demo_site(fake_bot.url, other_settings))
    page.get_by_role("button", name="Chat with us").click()
    wait_until_idle(page)
    box = page.get_by_label("Your message")
    for message, words in (("error please", "went wrong"), ("empty please", "didn't get an answer")):
        box.fill(message)
        box.press("Enter")
        wait_until_idle(page)
        last = transcript(page)[-1]
        assert last["who"] == "notice" and words in last["text"]
        assert "(555) 010-0177" in last["text"] and "call 112" in last["text"]


def test_page_uses_escaped_settings_and_bot_markup_stays_text(fake_bot, other_settings, demo_site, open_page):
    page = open_page(demo_site(fake_bot.url, other_settings))
    page.get_by_role("button", name="Chat with us").click()
    wait_until_idle(page)
    assert page.get_by_role("dialog").get_by_role("heading").text_content() == f'Fake "Clinic" {HOSTILE} assistant'
    assert page.get_by_role("dialog").get_by_text("In an emergency, call 112.").is_visible()

    page.get_by_role("button", name="<b>Bold?</b>").click()
    wait_until_idle(page)
    messages = transcript(page)
    assert messages[-2] == {"who": "user", "text": "<b>Bold?</b>", "sources": []}
    assert messages[-1]["text"].split("\n") == [HOSTILE, "From: <script>alert(2)</script>"]
    assert messages[-1]["sources"] == ["From: <script>alert(2)</script>"]
    assert page.locator("img, .tpi-chat b, .tpi-chat script").count() == 0
    page.wait_for_timeout(300)
    assert not page.alerts and not page.errors


def test_only_safe_links_are_made(fake_bot, demo_site, open_page):
    page = open_page(demo_site(fake_bot.url))
    page.get_by_role("button", name="Chat with us").click()
    wait_until_idle(page)
    page.get_by_label("Your message").fill("links please")
    page.get_by_label("Your message").press("Enter")
    wait_until_idle(page)
    answer = page.locator(".tpi-bot").last
    hrefs = answer.locator("a").evaluate_all("links => links.map(a => [a.getAttribute('href'), a.target])")
    assert hrefs == [
        ["https://example.org/tpi?a=1&b=2", "_blank"],
        ["tel:5550100142", ""],
        ["tel:+15550100143", ""],
    ]
    # The sentence's full stop stays text, outside the link.
    assert answer.locator("a").first.evaluate("a => a.nextSibling.textContent").startswith(". Not ")


def test_typing_indicator_and_reduced_motion(fake_bot, demo_site, open_page):
    for motion, expected in (("no-preference", "tpi-blink"), ("reduce", "none")):
        page = open_page(demo_site(fake_bot.url), reduced_motion=motion)
        page.get_by_role("button", name="Chat with us").click()
        wait_until_idle(page)
        page.get_by_label("Your message").fill("slow please")
        page.get_by_label("Your message").press("Enter")
        typing = page.get_by_role("status")
        assert typing.text_content() == "The assistant is typing"
        animation = page.locator(".tpi-dot").first.evaluate("d => getComputedStyle(d).animationName")
        assert animation == expected, motion
        wait_until_idle(page)
        assert typing.text_content() == ""
        assert transcript(page)[-1]["text"] == "Echo: slow please"


def test_long_message_is_capped_kindly(fake_bot, demo_site, open_page):
    page = open_page(demo_site(fake_bot.url))
    page.get_by_role("button", name="Chat with us").click()
    wait_until_idle(page)
    box = page.get_by_label("Your message")
    box.focus()
    page.keyboard.insert_text("a" * 1200)
    assert len(box.input_value()) == 1000
    assert "1000 characters" in page.locator(".tpi-limit").text_content()
    box.press("Enter")
    wait_until_idle(page)
    assert fake_bot.received[-1]["message"] == "a" * 1000
    assert page.locator(".tpi-limit").text_content() == ""


def test_focus_is_visible_and_talk_to_a_nurse_always_there(fake_bot, demo_site, open_page):
    page = open_page(demo_site(fake_bot.url))
    press_until_focused(page, ".tpi-launcher")
    ring = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert ring[0] != "none" and float(ring[1].rstrip("px")) >= 2
    page.keyboard.press("Enter")
    wait_until_idle(page)
    for message in ("slow please", "one", "two"):
        page.get_by_label("Your message").fill(message)
        page.get_by_label("Your message").press("Enter")
    wait_until_idle(page)
    # Replies keep the order of the questions even when a quick answer overtakes a slow one.
    assert [m["text"] for m in transcript(page) if m["who"] == "bot"][1:] == [
        "Echo: slow please",
        "Echo: one",
        "Echo: two",
    ]
    nurse = page.get_by_role("button", name="Talk to a nurse", exact=True)
    assert nurse.is_visible() and nurse.is_enabled()
    nurse.click()
    wait_until_idle(page)
    assert fake_bot.received[-1]["message"] == "/request_nurse"
    assert transcript(page)[-2]["text"] == "Talk to a nurse"


# ---------------------------------------------------------------- without a browser


def test_widget_script_is_small():
    size = WIDGET_JS.stat().st_size
    assert size < 30_000, f"tpi-chat.js is {size} bytes"


def test_widget_never_writes_markup():
    source = WIDGET_JS.read_text()
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(", source)


def test_demo_page_escapes_every_value():
    page = render_page('<x a="{{v}}">{{v}}</x>', {"v": '"><script>alert(1)</script>&'})
    assert (
        page == '<x a="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;">'
        "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;</x>"
    )
    with pytest.raises(KeyError):
        render_page("{{missing}}", {})


def test_tapping_on_a_phone_keeps_the_on_screen_keyboard_down(fake_bot, demo_site, open_page):
    page = open_page(demo_site(fake_bot.url), viewport=PHONE, has_touch=True, is_mobile=True)
    page.get_by_role("button", name="Chat with us").tap()
    wait_until_idle(page)
    assert focused_matches(page, ".tpi-log")
    page.get_by_role("button", name="<b>Bold?</b>").tap()
    wait_until_idle(page)
    assert focused_matches(page, ".tpi-log")
    assert fake_bot.received[-1]["message"] == "html please"


# ---------------------------------------------------------------- one message at a time, idempotency keys


def received_for(bot: FakeBot, sender: str) -> List[dict]:
    return [b for b in bot.received if b["sender"] == sender]


def test_a_second_send_waits_for_the_first_answer_and_keys_are_per_message(fake_bot, demo_site, open_page):
    page = open_page(demo_site(fake_bot.url))
    page.get_by_role("button", name="Chat with us").click()
    wait_until_idle(page)
    sender = stored(page, fake_bot.url)["sender"]
    box = page.get_by_label("Your message")
    for message in ("slow please", "one", "two"):
        box.fill(message)
        box.press("Enter")
    wait_until_idle(page)
    sent = received_for(fake_bot, sender)
    assert [b["message"] for b in sent] == ["/greet", "slow please", "one", "two"]
    for before, after in zip(sent, sent[1:]):
        assert after["_arrived"] >= before["_answered"], "a message was sent before the previous one was answered"
    keys = [b["metadata"]["idempotency_key"] for b in sent]
    assert len(set(keys)) == 4 and all(re.fullmatch(r"m-[0-9a-f]{32}", k) for k in keys)


def test_a_busy_server_gets_the_same_message_again_under_the_same_key(fake_bot, demo_site, open_page):
    page = open_page(demo_site(fake_bot.url))
    page.get_by_role("button", name="Chat with us").click()
    wait_until_idle(page)
    sender = stored(page, fake_bot.url)["sender"]
    page.get_by_label("Your message").fill("busy once please")
    page.get_by_label("Your message").press("Enter")
    expect(page.locator(".tpi-bot").last).to_have_text(re.compile("Echo: busy once please"), timeout=15_000)
    tries = [b for b in received_for(fake_bot, sender) if b["message"] == "busy once please"]
    assert len(tries) == 2 and tries[0]["metadata"] == tries[1]["metadata"]
    assert not page.locator(".tpi-notice").count()


def test_try_again_resends_under_the_first_key(fake_bot, demo_site, open_page):
    page = open_page(demo_site(fake_bot.url))
    page.get_by_role("button", name="Chat with us").click()
    wait_until_idle(page)
    sender = stored(page, fake_bot.url)["sender"]
    page.get_by_label("Your message").fill("error please")
    page.get_by_label("Your message").press("Enter")
    page.locator(".tpi-notice").wait_for()
    page.get_by_role("button", name="Try again").click()
    expect(page.locator(".tpi-notice")).to_have_count(2)
    tries = [b for b in received_for(fake_bot, sender) if b["message"] == "error please"]
    assert len(tries) == 2 and tries[0]["metadata"]["idempotency_key"] == tries[1]["metadata"]["idempotency_key"]


def test_two_tabs_of_one_conversation_never_send_at_once(fake_bot, demo_site, browser):
    """A duplicated tab carries the conversation (its sessionStorage) along: the tabs take turns."""
    url = demo_site(fake_bot.url)
    context = browser.new_context(viewport=DESKTOP)
    try:
        first = context.new_page()
        first.goto(url)
        first.get_by_role("button", name="Chat with us").click()
        wait_until_idle(first)
        key = "tpi-chat:" + fake_bot.url.rstrip("/")
        state = first.evaluate("k => sessionStorage.getItem(k)", key)
        second = context.new_page()
        second.add_init_script(f"sessionStorage.setItem({json.dumps(key)}, {json.dumps(state)});")
        second.goto(url)
        second.get_by_label("Your message").wait_for()
        sender = json.loads(state)["sender"]
        first.get_by_label("Your message").fill("slow please")
        first.get_by_label("Your message").press("Enter")
        deadline = time.monotonic() + 15
        while not any(b["message"] == "slow please" for b in received_for(fake_bot, sender)):
            assert time.monotonic() < deadline, "the first tab's message never arrived"
            time.sleep(0.05)
        second.get_by_label("Your message").fill("one")
        second.get_by_label("Your message").press("Enter")
        wait_until_idle(first)
        wait_until_idle(second)
        sent = [b for b in received_for(fake_bot, sender) if b["message"] in ("slow please", "one")]
        assert [b["message"] for b in sent] == ["slow please", "one"]
        assert sent[1]["_arrived"] >= sent[0]["_answered"]
    finally:
        context.close()
