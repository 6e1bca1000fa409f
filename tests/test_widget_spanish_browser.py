"""The chat widget in Spanish, in a real browser against the real bot: a page in Spanish, the
language button, a patient who simply writes in Spanish, and the offline message; axe-clean."""

from __future__ import annotations

from playwright.sync_api import expect

from clinic.settings import load_settings
from tests.conftest import free_port
from tests.test_widget_browser import (  # noqa: F401  (fixtures)
    DESKTOP,
    PHONE,
    demo_site,
    real_site,
    serious_violations,
    transcript,
    wait_until_idle,
)


def _open(browser, url: str, spanish_page: bool, viewport=DESKTOP, **options):
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    # The demo page marked as Spanish (<html lang="es">): all the widget reads.
    page.goto(url + "?lang=es" if spanish_page else url)
    return context, page


def _bot_langs(page):
    return page.evaluate("() => Array.from(document.querySelectorAll('.tpi-log > .tpi-bot')).map(m => m.lang)")


def test_a_spanish_page_talks_spanish_end_to_end(browser, real_site):
    settings = load_settings()
    context, page = _open(browser, real_site, spanish_page=True, bypass_csp=True)
    try:
        page.get_by_role("button", name="Chatee con nosotros").click()
        wait_until_idle(page)
        greeting = transcript(page)[0]
        assert greeting["who"] == "bot" and "no una persona" in greeting["text"], (greeting, page.errors)
        assert settings.emergency_number in greeting["text"] and "marque 2" in greeting["text"]
        assert _bot_langs(page) == ["es"]
        assert page.locator(".tpi-chat").get_attribute("lang") == "es"
        expect(page.locator(".tpi-nurse")).to_have_text("Hablar con una enfermera")
        for name in ("Enviar", "Empezar de nuevo", "Cerrar el chat", "Switch to English"):
            expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()
        box = page.get_by_label("Su mensaje")
        assert box.get_attribute("placeholder") == "Escriba su pregunta"

        box.fill("cuanto tiempo dura el alivio de la inyeccion?")
        box.press("Enter")
        wait_until_idle(page)
        answer = transcript(page)[-1]
        assert answer["sources"] and answer["sources"][0].startswith("Fuente:"), answer
        assert set(_bot_langs(page)) == {"es"}
        assert page.locator(".tpi-reply").first.text_content()  # follow-up buttons, in Spanish
        assert serious_violations(page) == []
        assert not page.errors
    finally:
        context.close()


def test_the_language_button_switches_both_ways(browser, real_site):
    context, page = _open(browser, real_site, spanish_page=False, viewport=PHONE)
    try:
        page.get_by_role("button", name="Chat with us").click()
        wait_until_idle(page)
        assert _bot_langs(page) == ["en"]
        switch = page.get_by_role("button", name="Cambiar a español")
        assert switch.get_attribute("lang") == "es" and switch.text_content() == "Español"
        switch.click()
        wait_until_idle(page)
        assert _bot_langs(page)[-1] == "es" and "no una persona" in transcript(page)[-1]["text"]
        expect(page.locator(".tpi-nurse")).to_have_text("Hablar con una enfermera")
        page.get_by_role("button", name="Switch to English").click()
        wait_until_idle(page)
        assert _bot_langs(page)[-1] == "en" and "not a person" in transcript(page)[-1]["text"]
        expect(page.locator(".tpi-nurse")).to_have_text("Talk to a nurse")
    finally:
        context.close()


def test_a_patient_who_writes_spanish_on_an_english_page_is_answered_in_spanish(browser, real_site):
    context, page = _open(browser, real_site, spanish_page=False, bypass_csp=True)
    try:
        page.get_by_role("button", name="Chat with us").click()
        wait_until_idle(page)
        box = page.get_by_label("Your message")
        box.fill("quiero hablar con una enfermera por favor")
        box.press("Enter")
        wait_until_idle(page)
        offer = transcript(page)[-1]
        assert "enfermería" in offer["text"], offer
        assert _bot_langs(page)[-1] == "es"
        # The widget followed: its own words are Spanish now, and a short "sí" keeps it so.
        assert page.get_by_label("Su mensaje").get_attribute("placeholder") == "Escriba su pregunta"
        page.get_by_label("Su mensaje").fill("sí")
        page.get_by_label("Su mensaje").press("Enter")
        wait_until_idle(page)
        assert "nombre" in transcript(page)[-1]["text"], transcript(page)[-1]
        assert serious_violations(page) == []
    finally:
        context.close()


def test_offline_message_in_spanish(browser, demo_site):
    settings = load_settings()
    context, page = _open(browser, demo_site(f"http://127.0.0.1:{free_port()}"), spanish_page=True)
    try:
        page.get_by_role("button", name="Chatee con nosotros").click()
        notice = page.locator(".tpi-notice")
        notice.wait_for()
        text = notice.text_content()
        assert "no puedo comunicarme" in text and settings.nurse_line.phone in text
        assert f"llame al {settings.emergency_number}" in text
        assert notice.get_attribute("lang") == "es"
        expect(page.get_by_role("button", name="Intentar de nuevo")).to_be_visible()
    finally:
        context.close()
