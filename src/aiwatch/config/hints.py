"""Fix hints for config problems: did-you-mean, the key a misplaced key belongs under, the
shape a value should have."""

import difflib
from typing import Any

from aiwatch.config.yamlpos import Path


def did_you_mean(word: str, choices: list[str]) -> str:
    """``; did you mean 'timeout'?`` for a close choice, else nothing."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.7)
    return f"; did you mean {close[0]!r}?" if close else ""


_PLACES: dict[int, dict[str, tuple[tuple[str, ...], ...]]] = {}


def _key_places(schema: dict[str, Any]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Every property name of the schema and the paths (``targets[]``, ``expect``) of the
    objects it belongs to (worked out once per schema)."""
    if id(schema) not in _PLACES:
        _PLACES[id(schema)] = _walk(schema)
    return _PLACES[id(schema)]


def _walk(schema: dict[str, Any]) -> dict[str, tuple[tuple[str, ...], ...]]:
    defs = schema.get("$defs", {})
    places: dict[str, list[tuple[str, ...]]] = {}

    def walk(node: dict[str, Any], path: tuple[str, ...], depth: int) -> None:
        if "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        if depth > 8:
            return
        for key, child in node.get("properties", {}).items():
            places.setdefault(key, []).append(path)
            walk(child, (*path, key), depth + 1)
        if isinstance(node.get("items"), dict):
            walk(node["items"], (*path[:-1], path[-1] + "[]") if path else path, depth + 1)

    walk(schema, (), 0)
    return {k: tuple(v) for k, v in places.items()}


def _generic(path: Path) -> tuple[str, ...]:
    """``("targets", 0, "expect")`` as ``("targets[]", "expect")``."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            if out:
                out[-1] += "[]"
        else:
            out.append(part)
    return tuple(out)


def unknown_key(key: str, known: list[str], at: Path, schema: dict[str, Any]) -> str:
    """``unknown key 'tmeout'; did you mean 'timeout'?``, or where the key belongs."""
    message = f"unknown key {key!r}"
    hint = did_you_mean(key, known)
    if hint:
        return message + hint
    here = _generic(at)
    homes = [p for p in _key_places(schema).get(key, ()) if p != here]
    if not homes:
        return message

    # The nearest home: the one sharing the longest start with where the key was written.
    def shared(place: tuple[str, ...]) -> int:
        n = 0
        for a, b in zip(place, here, strict=False):
            if a != b:
                break
            n += 1
        return n

    home = max(homes, key=lambda p: (shared(p), -len(p)))
    parent = home[-1].removesuffix("[]") if home else "the top level"
    full = ".".join((*home, key))
    return f"{message} here; it belongs under {parent} ({full}): check its indentation"


def shape_hint(value: Any, expected: Any) -> str:
    """How to write ``value`` as the expected type: ``200`` for an array is ``[200]``."""
    if expected == "array" and value is not None and not isinstance(value, (list, dict)):
        return f" (write a list: [{_yaml(value)}])"
    if expected == "object" and value is not None and not isinstance(value, (list, dict)):
        return " (write a mapping: {key: value}, or keys indented on the lines below)"
    if expected == "array" and isinstance(value, dict):
        items = ", ".join(f"{k}: {_yaml(v)}" for k, v in list(value.items())[:2])
        return f" (a list is written with '- ' items or [...], not as {{{items}}})"
    return ""


def _yaml(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
