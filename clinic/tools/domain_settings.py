"""Copies the clinic's settings into domain.yml's slots, so Rasa's own responses can show them.

Responses must work even when the action server is down (an emergency reply above all), so the
nurse line number and the emergency number live in slots with initial values. `make train` runs
this before training; `--check` fails when domain.yml is out of date with clinic_settings.yml.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from clinic.settings import PROJECT_ROOT, load_settings

DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
SLOT_VALUE = re.compile(r"^(  (\w+):\n(?:    .*\n)*?    initial_value: )(.*)$", re.MULTILINE)


def render(domain_text: str, values: dict) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(2)
        if name not in values:
            return match.group(0)
        return match.group(1) + json.dumps(values[name], ensure_ascii=False)

    return SLOT_VALUE.sub(replace, domain_text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report whether domain.yml is current")
    args = parser.parse_args(argv)
    current = DOMAIN_FILE.read_text(encoding="utf-8")
    wanted = render(current, load_settings().response_slots())
    if wanted == current:
        return 0
    if args.check:
        print("domain.yml's clinic settings differ from clinic_settings.yml: run `make train`", file=sys.stderr)
        return 1
    DOMAIN_FILE.write_text(wanted, encoding="utf-8")
    print("domain.yml: clinic settings updated from clinic_settings.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
