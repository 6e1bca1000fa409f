"""Loading the red-flag rules (clinic/data/red_flags/) into typed rules: a slip in a file stops
the load with the file and the line (clinic/red_flags/spec.py, clinic/red_flags/rulefile.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from clinic.red_flags.rulefile import RuleFileError
from clinic.red_flags.spec import DEFAULT_RULES_DIR, Combination, load_rules
from clinic.severity import Severity


@pytest.fixture()
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "red_flags"
    shutil.copytree(DEFAULT_RULES_DIR, folder)
    return folder


def edit(path: Path, old: str, new: str) -> int:
    """Replaces the first `old` with `new`; returns the line `new` starts on."""
    text = path.read_text(encoding="utf-8")
    at = text.index(old)
    path.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")
    return text.count("\n", 0, at) + 1


def load_error(folder: Path) -> RuleFileError:
    with pytest.raises(RuleFileError) as caught:
        load_rules(folder)
    return caught.value


def test_the_reviewed_rules_load():
    rules = load_rules()
    assert rules.source == DEFAULT_RULES_DIR
    assert {rule.severity for rule in rules.categories} == set(Severity)
    # most severe first, then as written
    ranks = [rule.severity.rank for rule in rules.categories]
    assert ranks == sorted(ranks, reverse=True)
    assert rules.category("seizure").others_now and rules.category("suicidal_thoughts").explicit
    assert "and" in rules.words.joiners and "no" in rules.cues.negation_before_finding
    assert "911" in rules.cues.normalcy_question  # a number written without quotes is its digits
    reading = rules.category("infection_signs").temperature_readings
    assert reading is not None and "mg" in reading.not_before and "$" in reading.not_after


@pytest.mark.parametrize("misspelt,meant", [("exact_phrase", "exact_phrases"), ("combinatons", "combinations")])
def test_a_misspelt_key_names_the_file_the_line_and_the_key_meant(rules_dir, misspelt, meant):
    path = rules_dir / "urgent.yml"
    line = edit(path, "    exact_phrases:\n", f"    {misspelt}:\n")
    error = load_error(rules_dir)
    assert str(error).startswith(f"{path}:{line}: ")
    assert (error.path, error.line) == (path, line)
    assert f"unknown key {misspelt!r}" in str(error) and f"did you mean {meant!r}" in str(error)


def test_an_unquoted_off_is_refused_with_its_line(rules_dir):
    path = rules_dir / "emergency.yml"
    line = edit(path, 'mumbling, "off", slow', "mumbling, off, slow")
    error = load_error(rules_dir)
    assert error.line == line and "'off' is read by YAML as false" in str(error)
    assert 'write it in quotes ("off")' in str(error)


@pytest.mark.parametrize(
    "old,new,message",
    [
        ("      - within: 4\n", "      - within: four\n", "must be a whole number, not text"),
        ("    explicit: true\n", "    explicit: yes please\n", "must be true or false, not text"),
        ("        in_order: true\n", "        in_order: [true]\n", "must be true or false, not a list"),
    ],
)
def test_a_value_of_the_wrong_kind(rules_dir, old, new, message):
    path = rules_dir / "crisis.yml"
    line = edit(path, old, new)
    error = load_error(rules_dir)
    assert error.path == path and error.line == line and message in str(error)


def test_a_combination_with_one_list(rules_dir):
    path = rules_dir / "emergency.yml"
    text = path.read_text(encoding="utf-8")
    match = re.search(r"\n( +)- within: \d+\n\1  all_of:\n\1    - \[[^\n]*\]\n(\1    - \[[^\n]*\]\n)", text)
    assert match
    path.write_text(text[: match.start(2)] + text[match.end(2) :], encoding="utf-8")
    error = load_error(rules_dir)
    assert error.line == text.count("\n", 0, match.start()) + 2
    assert "a combination needs at least two lists in all_of" in str(error)
    with pytest.raises(ValueError):
        Combination(all_of=(("throat",),))


def test_a_benign_reading_reaches_as_far_as_it_says(rules_dir):
    path = rules_dir / "emergency.yml"
    edit(path, "        cues: [", "        within: 0\n        cues: [")
    assert "a benign reading's within is a number of words above 0" in str(load_error(rules_dir))
    edit(path, "        within: 0\n", "        within: 12\n")
    rules = load_rules(rules_dir)
    assert 12 in {reading.within for rule in rules.categories for reading in rule.benign_readings}


def test_an_episode_already_over_is_not_set_aside_as_over():
    from clinic.red_flags.bilingual import SPANISH_RULES_DIR

    rules = load_rules(SPANISH_RULES_DIR)
    assert rules.category("faint_now_over").episode_over
    assert not rules.category("lasting_dizziness").episode_over


def test_a_key_written_twice(rules_dir):
    path = rules_dir / "urgent.yml"
    line = edit(path, "    exact_phrases:\n", "    others_now: false\n    others_now: true\n    exact_phrases:\n")
    error = load_error(rules_dir)
    assert error.line == line + 1 and f"'others_now' is written twice (first at line {line})" in str(error)


def test_a_category_in_two_files(rules_dir):
    crisis = (rules_dir / "crisis.yml").read_text(encoding="utf-8")
    start = crisis.index("  self_harm:\n")
    path = rules_dir / "urgent.yml"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(crisis[start:])
    lines = path.read_text(encoding="utf-8").splitlines()
    error = load_error(rules_dir)
    assert error.path == path and lines[error.line - 1] == "  self_harm:"
    assert "'self_harm' is also in crisis.yml" in str(error)


def test_context_lists_are_checked_too(rules_dir):
    path = rules_dir / "context.yml"
    line = edit(path, "  negation_before_verb:\n", "  negation_befor_verb:\n")
    error = load_error(rules_dir)
    assert error.line == line and "did you mean 'negation_before_verb'" in str(error)
    edit(path, "  negation_befor_verb:\n", "  negation_before_verb:\n")
    line = edit(path, "joiners: [and,", "joiners: [And,")
    error = load_error(rules_dir)
    assert error.line == line and "'And' must be one word in lower case" in str(error)


def test_a_missing_list_and_a_missing_file(rules_dir):
    path = rules_dir / "context.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  terminators:\n", "  old_terminators:\n"), encoding="utf-8")
    assert "unknown key 'old_terminators'" in str(load_error(rules_dir))
    path.write_text(text, encoding="utf-8")
    (rules_dir / "urgent.yml").unlink()
    error = load_error(rules_dir)
    assert error.path == rules_dir / "urgent.yml" and "the urgent rules file is missing" in str(error)


def test_broken_yaml_names_its_line(rules_dir):
    path = rules_dir / "crisis.yml"
    line = edit(path, "    explicit: true\n", "    explicit: [true\n")
    error = load_error(rules_dir)
    assert error.path == path and "not valid YAML" in str(error) and error.line > line


def test_the_backstop_settings_are_checked_too(tmp_path):
    from clinic.red_flags.backstop import DEFAULT_SETTINGS_PATH, load_settings

    settings = load_settings()
    assert set(settings.thresholds) == {s.value for s in Severity} and settings.text_speak
    text = DEFAULT_SETTINGS_PATH.read_text(encoding="utf-8")
    path = tmp_path / "backstop.yml"
    for old, new, message in [
        ("thresholds:\n", "treshold:\n", "unknown key 'treshold' (did you mean 'thresholds'?)"),
        ("  urgent: 0.", "  mild: 0.", "thresholds for unknown severities: mild"),
        ("{typed: [u], means: you}", "{typed: [u], mean: you}", "unknown key 'mean' (did you mean 'means'?)"),
        ("{typed: [kms], means: kill myself}", "{typed: [on], means: kill myself}", "write it in quotes"),
    ]:
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        with pytest.raises(RuleFileError) as caught:
            load_settings(path)
        assert message in str(caught.value) and str(caught.value).startswith(f"{path}:")
