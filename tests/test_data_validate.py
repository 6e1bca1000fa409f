"""`rasa data validate` finds nothing to warn about in the domain, data and rules."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# Rasa 3.6 merges a retrieval intent (faq) declared in domain.yml with the same intent it derives
# from data/nlu/faq/ and reports its own merge as a duplicate. Leaving faq out of the domain makes
# the rules invalid instead, so this one notice is Rasa's, not the project's.
RASA_OWN_NOTICE = "duplicated intents have been found across multiple domain files: faq"
UNUSED = re.compile(r"The utterance '(utter_[\w/]+)' is not used in any story or rule")


def responses_used_by_code():
    """Responses that forms ask with, or that our actions and safety policy send by name.

    Rasa's validator only looks at stories and rules, so it cannot see these; they are checked
    here against the code instead, which is the stronger check.
    """
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    used = {f"utter_ask_{slot}" for form in domain.get("forms", {}).values() for slot in form["required_slots"]}
    sources = [
        *(ROOT / "actions").glob("*.py"),
        *(ROOT / "clinic" / "nlu").glob("*.py"),
        ROOT / "clinic" / "responses.py",
    ]
    code = "\n".join(p.read_text() for p in sources)
    used |= {name for name in domain["responses"] if re.search(rf"[\"']{re.escape(name)}[\"']", code)}
    # Names built in code, such as f"utter_offer_handoff_{kind}", count for every response they can make.
    prefixes = re.findall(r"f[\"'](utter_[\w/]*)\{", code)
    used |= {name for name in domain["responses"] for prefix in prefixes if name.startswith(prefix)}
    return used


def test_rasa_data_validate_has_no_warnings():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), "data", "validate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    used_by_code = responses_used_by_code()
    warnings = []
    for line in output.splitlines():
        if not re.search(r"UserWarning|WARNING|ERROR", line) or "Deprecat" in line or "MovedIn20Warning" in line:
            continue
        if RASA_OWN_NOTICE in line:
            continue
        unused = UNUSED.search(line)
        if unused and unused.group(1) in used_by_code:
            continue
        warnings.append(line)
    assert warnings == [], "\n".join(warnings)
