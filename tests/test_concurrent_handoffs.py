"""scripts/concurrent_handoffs.py against the real bot: 50 conversations at once, 50 records, none mixed up."""

from __future__ import annotations

import importlib.util
import sys

from tests.conftest import ROOT


def load_script():
    spec = importlib.util.spec_from_file_location("concurrent_handoffs", ROOT / "scripts" / "concurrent_handoffs.py")
    module = importlib.util.module_from_spec(spec)
    # Registered first: dataclasses look their module up while the script loads.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_fifty_concurrent_handoffs_make_fifty_separate_records(rasa_server, test_env, capsys):
    script = load_script()
    status = script.main(
        ["--bot-url", rasa_server, "--conversations", "50", "--database-url", test_env["CLINIC_DATABASE_URL"]]
    )
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "records in the database: 50" in printed
    assert "OK: exactly 50 records, one per conversation, none mixed up" in printed
