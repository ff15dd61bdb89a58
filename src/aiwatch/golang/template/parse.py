"""Parsing Go ``text/template``: the subset Prometheus alert templates use.

Parsing checks what Go checks at parse time (unknown functions, undeclared variables,
unbalanced ``if``/``range``/``with``/``end``); ``exec`` runs the result. Error
messages keep Go's shape (``template: NAME:LINE: …``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

_WS = " \t\r\n"
_KEYWORDS = frozenset(
    {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}
)
_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?)"
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class TemplateError(Exception):
    """A template that does not parse or does not execute; the message is Go-shaped."""


class GoStruct(dict[str, Any]):
    """A Go struct value: fields are looked up by name, and a missing field is an error."""

    def __init__(self, type_name: str, fields: Mapping[str, Any]) -> None:
        super().__init__(fields)
        self.type_name = type_name


@dataclass
class Token:
    """One lexical item inside an action, with its offset in the template text."""

    kind: str
    value: Any
    pos: int
    spaced: bool
    text: str = ""


# Nodes ---------------------------------------------------------------------------------


@dataclass
class Text:
    text: str


@dataclass
class Operand:
    """A term (function name, field, variable, literal, dot or sub-pipeline) and its fields."""

    kind: str  # ident | field | var | literal | dot | pipe
    value: Any
    chain: list[str]
    pos: int
    text: str


@dataclass
class Command:
    args: list[Operand]
    pos: int


@dataclass
class Pipe:
    decl: list[str]
    assign: bool
    cmds: list[Command]
    pos: int


@dataclass
class Action:
    pipe: Pipe


@dataclass
class Branch:
    """``if``, ``range`` or ``with``: a pipeline, a body and an optional else body."""

    kind: str
    pipe: Pipe
    body: list[Node]
    else_body: list[Node] = field(default_factory=list)


Node = Text | Action | Branch
FuncMap = Mapping[str, Callable[..., Any]]


# Lexing --------------------------------------------------------------------------------


def _split(text: str, name: str) -> list[tuple[str, int, Any]]:
    """Text pieces and action bodies: ``("text", pos, str)`` / ``("action", pos, tokens)``."""
    out: list[tuple[str, int, Any]] = []
    pos = 0
    trim_next = False
    while pos <= len(text):
        start = text.find("{{", pos)
        chunk = text[pos:] if start < 0 else text[pos:start]
        if trim_next:
            chunk = chunk.lstrip(_WS)
        trim_left = text[start + 2 : start + 3] == "-" and text[start + 3 : start + 4] in _WS
        if start >= 0 and trim_left and text[start + 3 : start + 4]:
            chunk = chunk.rstrip(_WS)
        if chunk:
            out.append(("text", pos, chunk))
        if start < 0:
            break
        body_start = start + 2
        if (
            text[body_start : body_start + 1] == "-"
            and text[body_start + 1 : body_start + 2] in _WS
        ):
            body_start += 2
        tokens, end, trim_next = _lex_action(text, body_start, name)
        if tokens is not None:
            out.append(("action", start, tokens))
        pos = end
    return out


def line_of(text: str, pos: int) -> int:
    """The 1-based line of offset ``pos``."""
    return text.count("\n", 0, pos) + 1


def _lex_action(text: str, pos: int, name: str) -> tuple[list[Token] | None, int, bool]:
    """Tokens of one action starting at ``pos``; returns (tokens, end offset, trim-right)."""
    i = pos
    while i < len(text) and text[i] in _WS:
        i += 1
    if text.startswith("/*", i):
        close = text.find("*/", i + 2)
        if close < 0:
            raise TemplateError(f"template: {name}:{line_of(text, pos)}: unclosed comment")
        j = close + 2
        trim = False
        if text.startswith(" -}}", j):
            trim, j = True, j + 2
        if not text.startswith("}}", j):
            raise TemplateError(
                f"template: {name}:{line_of(text, pos)}: comment ends before closing delimiter"
            )
        return None, j + 2, trim
    tokens: list[Token] = []
    spaced = False
    while True:
        if i >= len(text):
            raise TemplateError(f"template: {name}:{line_of(text, pos)}: unclosed action")
        ch = text[i]
        if ch in _WS:
            j = i
            while j < len(text) and text[j] in _WS:
                j += 1
            if text.startswith("-}}", j):
                return tokens, j + 3, True
            spaced, i = True, j
            continue
        if text.startswith("}}", i):
            return tokens, i + 2, False
        tok, i = _lex_token(text, i, spaced, name)
        tokens.append(tok)
        spaced = False


def _lex_token(text: str, i: int, spaced: bool, name: str) -> tuple[Token, int]:
    ch = text[i]
    simple = {"|": "pipe", "(": "lparen", ")": "rparen", ",": "comma", "=": "assign"}
    if text.startswith(":=", i):
        return Token("declare", ":=", i, spaced, ":="), i + 2
    if ch in simple:
        return Token(simple[ch], ch, i, spaced, ch), i + 1
    if ch == '"':
        j = i + 1
        while j < len(text) and text[j] != '"':
            if text[j] == "\n":
                break
            j += 2 if text[j] == "\\" else 1
        if j >= len(text) or text[j] != '"':
            raise TemplateError(f"template: {name}:{line_of(text, i)}: unterminated quoted string")
        raw = text[i : j + 1]
        return Token("literal", _unquote(raw), i, spaced, raw), j + 1
    if ch == "`":
        j = text.find("`", i + 1)
        if j < 0:
            raise TemplateError(
                f"template: {name}:{line_of(text, i)}: unterminated raw quoted string"
            )
        return Token("literal", text[i + 1 : j], i, spaced, text[i : j + 1]), j + 1
    if ch == "'":
        j = text.find("'", i + 1)
        raw = text[i : j + 1]
        return Token("literal", ord(_unquote('"' + raw[1:-1] + '"')), i, spaced, raw), j + 1
    if ch == "$":
        m = _IDENT.match(text, i + 1)
        end = m.end() if m else i + 1
        return Token("var", text[i:end], i, spaced, text[i:end]), end
    if ch == ".":
        m = _IDENT.match(text, i + 1)
        if m:
            return Token("field", m.group(), i, spaced, text[i : m.end()]), m.end()
        if not (i + 1 < len(text) and text[i + 1].isdigit()):
            return Token("dot", None, i, spaced, "."), i + 1
    m = _NUMBER.match(text, i)
    if m and (ch.isdigit() or ch in "+-."):
        raw = m.group()
        return Token("literal", _number(raw, name, text, i), i, spaced, raw), m.end()
    m = _IDENT.match(text, i)
    if m:
        word = m.group()
        kind = "keyword" if word in _KEYWORDS else "ident"
        value: Any = word
        if word in ("true", "false", "nil"):
            kind, value = ("literal", word == "true") if word != "nil" else ("nil", None)
        return Token(kind, value, i, spaced, word), m.end()
    raise TemplateError(f"template: {name}:{line_of(text, i)}: unexpected {ch!r} in command")


def _number(raw: str, name: str, text: str, pos: int) -> int | float:
    clean = raw.replace("_", "")
    try:
        if clean.lower().lstrip("+-").startswith("0x"):
            return int(clean, 16)
        if any(c in clean for c in ".eE"):
            return float(clean)
        return int(clean)
    except ValueError:
        raise TemplateError(
            f"template: {name}:{line_of(text, pos)}: bad number syntax: {raw!r}"
        ) from None


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    escapes = {
        "n": "\n",
        "t": "\t",
        "r": "\r",
        "\\": "\\",
        '"': '"',
        "'": "'",
        "a": "\a",
        "b": "\b",
        "f": "\f",
        "v": "\v",
    }
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 >= len(body):
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in escapes:
            out.append(escapes[nxt])
            i += 2
        elif nxt == "x":
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        elif nxt in "uU":
            width = 4 if nxt == "u" else 8
            out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        else:
            out.append(chr(int(body[i + 1 : i + 4], 8)))
            i += 4
    return "".join(out)


# Parsing -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, name: str, funcs: Mapping[str, Any]) -> None:
        self.text, self.name, self.funcs = text, name, funcs
        self.items = _split(text, name)
        self.index = 0
        self.vars: list[str] = ["$"]
        self.pending: list[Token] = []

    def error(self, pos: int, message: str) -> TemplateError:
        return TemplateError(f"template: {self.name}:{line_of(self.text, pos)}: {message}")

    def parse(self) -> list[Node]:
        body, stop, pos = self.parse_list()
        if stop is not None:
            raise self.error(pos, f"unexpected {{{{{stop}}}}}")
        return body

    def parse_list(self) -> tuple[list[Node], str | None, int]:
        """Nodes up to an ``{{else}}``/``{{end}}`` (returned as the stop word) or the end."""
        nodes: list[Node] = []
        while self.index < len(self.items):
            kind, pos, payload = self.items[self.index]
            self.index += 1
            if kind == "text":
                nodes.append(Text(payload))
                continue
            tokens: list[Token] = payload
            if not tokens:
                raise self.error(pos, "missing value for command")
            head = tokens[0]
            if head.kind == "keyword":
                if head.value in ("end", "else"):
                    if head.value == "end" and len(tokens) > 1:
                        raise self.error(pos, f"unexpected {tokens[1].text} in end")
                    self.pending = tokens[1:]
                    return nodes, head.value, pos
                if head.value in ("if", "range", "with"):
                    nodes.append(self.parse_branch(head.value, tokens[1:], pos))
                    continue
                raise self.error(pos, f"{{{{{head.value}}}}} is not supported by aiwatch")
            nodes.append(Action(self.parse_pipe(tokens, pos, decl_ok=True)))
        return nodes, None, len(self.text)

    def parse_branch(self, kind: str, tokens: list[Token], pos: int) -> Branch:
        depth = len(self.vars)
        pipe = self.parse_pipe(tokens, pos, decl_ok=True, context=kind)
        body, stop, stop_pos = self.parse_list()
        branch = Branch(kind, pipe, body)
        if stop == "else":
            rest = self.pending
            if rest and rest[0].kind == "keyword" and rest[0].value == "if" and kind == "if":
                del self.vars[depth:]
                branch.else_body = [self.parse_branch("if", rest[1:], stop_pos)]
                return branch
            if rest:
                raise self.error(stop_pos, f"unexpected {rest[0].text} in else")
            branch.else_body, stop, stop_pos = self.parse_list()
        if stop != "end":
            raise self.error(stop_pos if stop else pos, "unexpected EOF")
        del self.vars[depth:]
        return branch

    def parse_pipe(
        self, tokens: list[Token], pos: int, *, decl_ok: bool, context: str = "command"
    ) -> Pipe:
        decl: list[str] = []
        assign = False
        i = 0
        if decl_ok and tokens and tokens[0].kind == "var":
            j = 1
            names = [tokens[0].value]
            pair = len(tokens) > 2 and tokens[1].kind == "comma" and tokens[2].kind == "var"
            if context == "range" and pair:
                names.append(tokens[2].value)
                j = 3
            if j < len(tokens) and tokens[j].kind in ("declare", "assign"):
                assign = tokens[j].kind == "assign"
                if assign and names[0] not in self.vars:
                    raise self.error(pos, f'undefined variable "{names[0]}"')
                decl, i = names, j + 1
        cmds: list[Command] = []
        current: list[Operand] = []
        cmd_pos = tokens[i].pos if i < len(tokens) else pos
        while i < len(tokens):
            tok = tokens[i]
            if tok.kind == "pipe":
                if not current:
                    raise self.error(tok.pos, "missing command")
                cmds.append(Command(current, cmd_pos))
                current = []
                i += 1
                cmd_pos = tokens[i].pos if i < len(tokens) else tok.pos
                continue
            operand, i = self.parse_operand(tokens, i)
            current.append(operand)
        if current:
            cmds.append(Command(current, cmd_pos))
        if not cmds:
            raise self.error(pos, f"missing value for {context}")
        if not assign:
            self.vars.extend(decl)
        return Pipe(decl, assign, cmds, pos)

    def parse_operand(self, tokens: list[Token], i: int) -> tuple[Operand, int]:
        tok = tokens[i]
        i += 1
        if tok.kind == "lparen":
            depth, j = 1, i
            while j < len(tokens) and depth:
                depth += {"lparen": 1, "rparen": -1}.get(tokens[j].kind, 0)
                j += 1
            if depth:
                raise self.error(tok.pos, "unclosed left paren")
            inner = self.parse_pipe(
                tokens[i : j - 1], tok.pos, decl_ok=False, context="parenthesized pipeline"
            )
            text = " | ".join(" ".join(a.text for a in c.args) for c in inner.cmds)
            operand = Operand("pipe", inner, [], tok.pos, f"({text})")
            i = j
        elif tok.kind == "ident":
            if tok.value not in self.funcs:
                raise self.error(tok.pos, f'function "{tok.value}" not defined')
            operand = Operand("ident", tok.value, [], tok.pos, tok.text)
        elif tok.kind == "field":
            operand = Operand("field", None, [tok.value], tok.pos, tok.text)
        elif tok.kind == "var":
            if tok.value not in self.vars:
                raise self.error(tok.pos, f'undefined variable "{tok.value}"')
            operand = Operand("var", tok.value, [], tok.pos, tok.text)
        elif tok.kind in ("literal", "nil"):
            operand = Operand("literal", tok.value, [], tok.pos, tok.text)
        elif tok.kind == "dot":
            operand = Operand("dot", None, [], tok.pos, ".")
        else:
            raise self.error(tok.pos, f"unexpected {tok.text!r} in operand")
        while i < len(tokens) and tokens[i].kind == "field" and not tokens[i].spaced:
            operand.chain.append(tokens[i].value)
            operand.text += tokens[i].text
            i += 1
        return operand, i


def parse(text: str, *, name: str, funcs: FuncMap) -> list[Node]:
    """Parse ``text`` or raise :class:`TemplateError` the way Go's ``Parse`` would."""
    return _Parser(text, name, funcs).parse()
