"""Reviewed YAML read into typed, frozen dataclasses, the way medspacy's ConTextRule reads its
rules: a key the class does not have, a value of the wrong type or one its class refuses stops the
load with the file and line, so a misspelt ``exact_phrase`` or ``combinatons`` can no longer be
skipped in silence and leave the assistant without the phrases a clinician approved.

Why walk YAML nodes rather than the dicts ``yaml.safe_load`` gives: only nodes keep their line
numbers, and they also show what a plain load hides, such as a key written twice (the second
would silently win) or an unquoted ``off`` or ``no`` in a word list, which YAML reads as false.

A class reads a mapping whose keys are its field names. The field's type says what its value
must be:

* ``str``, ``bool``, ``int``, ``float``; ``Severity``;
* ``Phrases`` (a list of phrases: text, or whole numbers such as ``911``);
* ``Words`` (a list of single lower-case words, compared with tokens as typed);
* a tuple of any of these, a dataclass, a tuple of dataclasses, ``Optional[...]`` of one;
* ``Dict[str, ...]`` of any of these.

A field with a default may be left out. A dataclass may refuse values in ``__post_init__`` by
raising ``ValueError``; the message is reported at the mapping's line.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from pathlib import Path
from typing import Any, Dict, FrozenSet, Optional, Tuple, Type, TypeVar, Union

import yaml
from yaml.constructor import SafeConstructor

from clinic.severity import Severity

T = TypeVar("T")

# A list of phrases, matched on words and their other forms (clinic.text.matcher).
Phrases = Tuple[str, ...]
# A set of single words, each compared with a token's lower-case text.
Words = FrozenSet[str]

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"


class RuleFileError(ValueError):
    """A reviewed YAML file that cannot be loaded; the message starts with ``file:line:``."""

    def __init__(self, path: Union[str, Path], line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = Path(path)
        self.line = line


def read_node(path: Union[str, Path]) -> yaml.Node:
    """The file's YAML document as a node tree (with line numbers)."""
    path = Path(path)
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise RuleFileError(path, mark.line + 1 if mark else 1, f"not valid YAML: {error.problem}") from None
    if node is None:
        raise RuleFileError(path, 1, "the file is empty")
    return node


def line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def mapping_items(node: yaml.Node, path: Path, what: str) -> Dict[str, Tuple[yaml.Node, yaml.Node]]:
    """A mapping's entries by key (key node, value node), refusing a key written twice."""
    if not isinstance(node, yaml.MappingNode):
        raise RuleFileError(path, line_of(node), f"{what} must be a mapping of names to values")
    items: Dict[str, Tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise RuleFileError(path, line_of(key_node), f"{what}: a key must be a plain name")
        key = str(key_node.value)
        if key in items:
            raise RuleFileError(
                path,
                line_of(key_node),
                f"{what}: {key!r} is written twice (first at line {line_of(items[key][0])})",
            )
        items[key] = (key_node, value_node)
    return items


def build(cls: Type[T], node: yaml.Node, path: Union[str, Path], what: str, **given: Any) -> T:
    """An instance of the dataclass ``cls`` from a YAML mapping; ``given`` fields (a rule's name,
    its severity) come from where the mapping sits, not from its keys."""
    path = Path(path)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name not in given}  # type: ignore[arg-type]
    items = mapping_items(node, path, what)
    for key, (key_node, _) in items.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RuleFileError(
                path,
                line_of(key_node),
                f"{what}: unknown key {key!r}{hint}; the keys are: {', '.join(fields)}",
            )
    values: Dict[str, Any] = dict(given)
    for name, field in fields.items():
        if name in items:
            values[name] = convert(hints[name], items[name][1], path, f"{what}, {name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise RuleFileError(path, line_of(node), f"{what}: {name!r} is missing")
    try:
        return cls(**values)
    except ValueError as error:
        raise RuleFileError(path, line_of(node), f"{what}: {error}") from None


def convert(kind: Any, node: yaml.Node, path: Path, what: str) -> Any:
    """The value of one field, checked against its type."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if kind == Phrases:
        return tuple(_phrase(item, path, what) for item in _sequence(node, path, what))
    if kind == Words:
        return frozenset(_word(item, path, what) for item in _sequence(node, path, what))
    if origin is Union and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return convert(inner, node, path, what)
    if origin is tuple:
        return tuple(convert(args[0], item, path, what) for item in _sequence(node, path, what))
    if origin is dict:
        return {
            key: convert(args[1], value, path, f"{what}, {key}")
            for key, (_, value) in mapping_items(node, path, what).items()
        }
    if dataclasses.is_dataclass(kind):
        return build(kind, node, path, what)  # type: ignore[arg-type]
    if kind is Severity:
        value = _scalar(node, path, what, (_STR,))
        severity = Severity.parse(value)
        if severity is None:
            raise RuleFileError(path, line_of(node), f"{what}: {value!r} is not one of {', '.join(Severity)}")
        return severity
    tags = {str: (_STR,), bool: (_BOOL,), int: (_INT,), float: (_FLOAT, _INT)}.get(kind)
    if tags is None:
        raise TypeError(f"{what}: no reader for {kind!r}")
    return kind(_scalar(node, path, what, tags))


_NAMES = {_STR: "text", _INT: "a whole number", _FLOAT: "a number", _BOOL: "true or false", _NULL: "empty"}


def _scalar(node: yaml.Node, path: Path, what: str, tags: Tuple[str, ...]) -> Any:
    if not isinstance(node, yaml.ScalarNode) or node.tag not in tags:
        got = _NAMES.get(node.tag, "a list" if isinstance(node, yaml.SequenceNode) else "a mapping")
        want = " or ".join(_NAMES[t] for t in tags)
        raise RuleFileError(path, line_of(node), f"{what}: must be {want}, not {got}")
    return SafeConstructor().construct_object(node)


def _sequence(node: yaml.Node, path: Path, what: str) -> list:
    if not isinstance(node, yaml.SequenceNode):
        raise RuleFileError(path, line_of(node), f"{what}: must be a list")
    return list(node.value)


def _phrase(node: yaml.Node, path: Path, what: str) -> str:
    if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL:
        raise RuleFileError(
            path,
            line_of(node),
            f"{what}: {node.value!r} is read by YAML as {str(SafeConstructor().construct_object(node)).lower()}: "
            f'write it in quotes ("{node.value}")',
        )
    value = _scalar(node, path, what, (_STR, _INT))
    text = str(value)
    if not text.strip():
        raise RuleFileError(path, line_of(node), f"{what}: an empty phrase")
    return text


def _word(node: yaml.Node, path: Path, what: str) -> str:
    word = _phrase(node, path, what)
    if word != word.strip().lower() or " " in word:
        raise RuleFileError(
            path,
            line_of(node),
            f"{what}: {word!r} must be one word in lower case (it is compared with the words of a message)",
        )
    return word


def read(cls: Type[T], path: Union[str, Path], what: Optional[str] = None, **given: Any) -> T:
    """A whole file as one dataclass."""
    path = Path(path)
    return build(cls, read_node(path), path, what or path.name, **given)
