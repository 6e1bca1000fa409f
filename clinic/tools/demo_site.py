"""The demo website of the (fictional) clinic, with the chat widget on it.

    python -m clinic.tools.demo_site --port 8000 --rasa-url http://localhost:5005

Serves widget/demo/ at / (at /?lang=es marked as a Spanish page, where the widget starts in
Spanish) and the widget's own files at /widget/. The page's widget tag is filled
from the clinic settings, so the nurse line and emergency number the widget shows when the bot is
unreachable are the clinic's, not numbers copied into HTML by hand.
"""

from __future__ import annotations

import argparse
import html
import mimetypes
import re
import sys
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Optional
from urllib.parse import urlsplit

from clinic.settings import PROJECT_ROOT, Settings, get_settings

WIDGET_DIR = PROJECT_ROOT / "widget"
DEMO_DIR = WIDGET_DIR / "demo"
DEFAULT_COLOR = "#0b5cad"
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def page_values(settings: Settings, rasa_url: str, primary_color: str) -> Dict[str, str]:
    phone = settings.nurse_line.phone
    return {
        "clinic_name": settings.clinic_name,
        "nurse_phone": phone,
        "nurse_phone_digits": re.sub(r"[^\d+]", "", phone),
        "nurse_hours": settings.nurse_line.hours_text,
        "nurse_hours_es": settings.nurse_line.hours_text_es or settings.nurse_line.hours_text,
        "emergency_number": settings.emergency_number,
        "rasa_url": rasa_url.rstrip("/"),
        "primary_color": primary_color,
    }


def render_page(template: str, values: Dict[str, str]) -> str:
    """Fill {{name}} placeholders; every value is escaped, since the settings file is free text."""

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"demo page uses unknown placeholder {{{{{name}}}}}")
        return html.escape(values[name], quote=True)

    return PLACEHOLDER.sub(fill, template)


def content_security_policy(rasa_url: str) -> str:
    # The widget needs no inline script or style; this policy proves it on every demo visit and
    # limits the page's network access to itself and the bot.
    bot = _origin(rasa_url)
    return (
        "default-src 'self'; "
        f"connect-src 'self' {bot}; "
        f"img-src 'self' {bot} https: data:; "
        "script-src 'self'; style-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"
    )


def _inside(base: Path, relative: str) -> Optional[Path]:
    candidate = (base / relative).resolve()
    if candidate.is_file() and candidate.is_relative_to(base.resolve()):
        return candidate
    return None


class DemoHandler(BaseHTTPRequestHandler):
    server_version = "ClinicDemo"
    sys_version = ""

    def __init__(self, *args, index_html: bytes, csp: str, **kwargs):
        self.index_html = index_html
        self.csp = csp
        super().__init__(*args, **kwargs)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def _serve(self, send_body: bool) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if path in ("/", "/index.html"):
            page = self.index_html
            if "lang=es" in parts.query.split("&"):
                # The same page marked as Spanish (<html lang="es">): the widget starts in Spanish.
                page = page.replace(b'<html lang="en">', b'<html lang="es">', 1)
            self._send(200, page, "text/html", send_body)
            return
        if path.startswith("/widget/"):
            found = _inside(WIDGET_DIR, path[len("/widget/") :])
        else:
            found = _inside(DEMO_DIR, path.lstrip("/"))
        if found is None:
            self._send(404, b"Not found\n", "text/plain", send_body)
            return
        kind = TYPES.get(found.suffix) or mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        self._send(200, found.read_bytes(), kind, send_body)

    def _send(self, code: int, body: bytes, kind: str, send_body: bool) -> None:
        self.send_response(code)
        charset = "; charset=utf-8" if kind.startswith("text/") else ""
        self.send_header("Content-Type", kind + charset)
        self.send_header("Content-Length", str(len(body)))
        # Edits to the widget show on the next reload while developing.
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if kind == "text/html":
            self.send_header("Content-Security-Policy", self.csp)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    # Access logs carry the path only: query strings can hold things a visitor typed.
    def log_request(self, code="-", size="-") -> None:
        sys.stderr.write(f"{self.command} {urlsplit(self.path).path} {code}\n")

    def log_error(self, format: str, *args) -> None:
        sys.stderr.write(f"request error {args[0] if args else ''}\n")


def make_server(host: str, port: int, rasa_url: str, primary_color: str = DEFAULT_COLOR) -> ThreadingHTTPServer:
    template = (DEMO_DIR / "index.html").read_text(encoding="utf-8")
    index_html = render_page(template, page_values(get_settings(), rasa_url, primary_color)).encode("utf-8")
    handler = partial(DemoHandler, index_html=index_html, csp=content_security_policy(rasa_url))
    return ThreadingHTTPServer((host, port), handler)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {value!r}")
    return value.rstrip("/")


def _color(value: str) -> str:
    if not re.fullmatch(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})", value):
        raise argparse.ArgumentTypeError(f"not a #rgb or #rrggbb colour: {value!r}")
    return value


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Serve the clinic's demo page with the chat widget.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--rasa-url",
        type=_http_url,
        default="http://localhost:5005",
        help="the Rasa server the widget talks to, as the browser reaches it",
    )
    parser.add_argument("--primary-color", type=_color, default=DEFAULT_COLOR)
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port, args.rasa_url, args.primary_color)
    print(f"Demo site on http://localhost:{args.port}/ (chat server {args.rasa_url})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
