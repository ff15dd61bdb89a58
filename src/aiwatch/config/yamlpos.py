"""YAML loading that remembers where every node came from, for ``FILE:LINE:COL`` errors."""

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass
class Positions:
    """1-based (line, column) of each value and each mapping key, by path."""

    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def of(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Where ``path`` is, falling back to its nearest known ancestor."""
        table = self.keys if key else self.values
        for end in range(len(path), -1, -1):
            found = table.get(path[:end]) or self.values.get(path[:end])
            if found:
                return found
        return (1, 1)


class YamlProblem(Exception):
    """A YAML document that cannot be read, with where and why."""

    def __init__(self, line: int, col: int, path: Path, message: str) -> None:
        super().__init__(message)
        self.line, self.col, self.path, self.message = line, col, path, message


def _no_second_document(loader: yaml.SafeLoader) -> None:
    """Empty documents after the first (a trailing ``---``) are fine; content there is not."""
    while loader.check_node():
        node = loader.get_node()
        if node is not None and not (node.tag == _NULL and node.value == ""):
            line, col = _mark(node)
            message = "only one YAML document is allowed; this is a second one"
            raise YamlProblem(line, col, (), message)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def load_with_positions(text: str) -> tuple[Any, Positions]:
    """Parse one YAML document into plain Python values plus their positions."""
    try:
        # The reader checks every character up front: a NUL or other control character in a
        # binary file raises here, before any node has a mark.
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as err:
        line, col = _position_in(text, err.position)
        message = f"invalid YAML: unacceptable character #x{err.character:04x}: {err.reason}"
        raise YamlProblem(line, col, (), message) from None
    try:
        root = loader.get_node() if loader.check_node() else None
        _no_second_document(loader)
        positions = Positions()
        value = _convert(loader, root, (), positions, {}) if root is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlProblem(line, col, (), f"invalid YAML: {err.problem or err}") from None
    except yaml.YAMLError as err:
        raise YamlProblem(1, 1, (), f"invalid YAML: {err}") from None
    finally:
        loader.dispose()
    return value, positions


def _position_in(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of the character at ``index``."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


_MERGE = "tag:yaml.org,2002:merge"
_NULL = "tag:yaml.org,2002:null"


def _convert(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: Path,
    pos: Positions,
    explicit: dict[int, frozenset[int]],
) -> Any:
    """``explicit`` remembers, per mapping node, the key nodes written in it (not merged in)."""
    pos.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        # flatten_mapping rewrites the node in place (merged pairs first, then its own), and an
        # anchored node is met again through each alias: note its own keys before the first.
        own = explicit.setdefault(
            id(node), frozenset(id(k) for k, _ in node.value if k.tag != _MERGE)
        )
        loader.flatten_mapping(node)
        out: dict[str, Any] = {}
        written: set[str] = set()
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            child = (*path, key)
            if id(key_node) in own:
                # Merged keys yield to keys written here, as YAML's merge key defines.
                if key in written:
                    line, col = _mark(key_node)
                    raise YamlProblem(line, col, child, f"duplicate key {key!r}")
                written.add(key)
            pos.keys[child] = _mark(key_node)
            out[key] = _convert(loader, value_node, child, pos, explicit)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(loader, item, (*path, i), pos, explicit) for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def format_path(path: Path) -> str:
    """``targets[0].interval`` style, the way users name config keys."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(root)"
