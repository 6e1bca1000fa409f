"""The patient's language on the handoff: kept by the record, shown and filtered in the console, in
the API, and added to a database made before it existed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, text

from clinic.handoff import record
from clinic.handoff.callback_window import describe_opening, line_status
from clinic.handoff.patient_input import clean_name, is_stop_request
from clinic.handoff.store import HandoffStore
from clinic.settings import load_settings
from tests.handoff_samples import sample_handoff
from tests.test_console import _fresh_throttle, ann, app, store  # noqa: F401  (fixtures)


def test_record_keeps_english_or_spanish():
    assert record.language("es") == "es"
    assert record.language("en") == "en"
    assert record.language(None) == "en"
    assert record.language("fr") == "en"


def test_store_keeps_the_language_and_filters_by_it(store):
    spanish = store.create_handoff(sample_handoff(0, language="es"))[0]
    english = store.create_handoff(sample_handoff(1))[0]
    assert spanish["language"] == "es" and english["language"] == "en"
    assert [h["reference"] for h in store.list_handoffs(language="es")] == [spanish["reference"]]
    assert len(store.list_handoffs()) == 2
    with pytest.raises(ValueError):
        store.create_handoff(sample_handoff(2, language="xx"))


def test_console_shows_the_language_on_the_queue_and_detail_and_filters(ann, store):
    spanish = store.create_handoff(sample_handoff(0, language="es"))[0]["reference"]
    english = store.create_handoff(sample_handoff(1))[0]["reference"]
    html = ann.get("/").get_data(as_text=True)
    rows = dict((ref, row) for ref, row in re.findall(r'data-reference="(TPI-\w+)">(.*?)</tr>', html, re.S))
    assert "Spanish" in rows[spanish] and "English" in rows[english]
    assert 'id="language-filter"' in html
    only = ann.get("/?language=es").get_data(as_text=True)
    assert re.findall(r'data-reference="(TPI-\w+)"', only) == [spanish]
    assert '<option value="es" selected>' in only
    # An unknown filter shows everything rather than nothing.
    assert len(re.findall(r'data-reference="(TPI-\w+)"', ann.get("/?language=zz").get_data(as_text=True))) == 2
    detail = ann.get(f"/handoffs/{spanish}").get_data(as_text=True)
    assert re.search(r'id="language">Spanish.*interpreter', detail)


def test_api_lists_by_language(app, store):
    token = store.create_token("pager")
    headers = {"Authorization": f"Bearer {token}"}
    spanish = store.create_handoff(sample_handoff(0, language="es"))[0]["reference"]
    store.create_handoff(sample_handoff(1))
    client = app.test_client()
    listed = client.get("/api/handoffs?language=es", headers=headers).json["handoffs"]
    assert [h["reference"] for h in listed] == [spanish] and listed[0]["language"] == "es"
    assert client.get("/api/handoffs?language=fr", headers=headers).status_code == 400


def test_a_database_from_before_languages_gets_the_column(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    HandoffStore(url).create_schema()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE handoffs DROP COLUMN language"))
    engine.dispose()
    store = HandoffStore(url)
    made = store.create_handoff(sample_handoff(0, language="es"))[0]
    assert store.get_handoff(made["reference"])["language"] == "es"
    store.dispose()


def test_the_form_understands_spanish_answers():
    assert is_stop_request("parar") and is_stop_request("No gracias") and is_stop_request("cancelar por favor")
    assert not is_stop_request("para mañana en la tarde")
    assert clean_name("me llamo María José Pérez") == "María José Pérez"


def test_callback_times_in_spanish():
    from datetime import datetime, timezone

    line = load_settings().nurse_line
    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=timezone.utc)
    opening = line.next_opening(saturday)
    assert describe_opening(opening, saturday, "es").startswith("el lunes a las 8:00 a. m.")
    assert line_status(line, saturday, language="es").startswith("La línea de enfermería está cerrada")
    assert describe_opening(opening, saturday).startswith("Monday at 8:00 am")
