"""Running a parsed Go template: Go's truth, field lookup, pipelines and error messages."""

from collections.abc import Mapping, Sequence
from typing import Any

from aiwatch.golang import fmt as gofmt
from aiwatch.golang.template.parse import (
    Action,
    Branch,
    Command,
    FuncMap,
    GoStruct,
    Node,
    Operand,
    Pipe,
    TemplateError,
    Text,
    line_of,
)


class _Missing:
    """No value yet: the final argument of the first command in a pipeline."""


_MISSING = _Missing()


def truth(value: Any) -> bool:
    """Go template truth: false, 0, nil and empty things are false."""
    if value is None or isinstance(value, _Missing):
        return False
    if isinstance(value, bool | int | float | str | Mapping | Sequence):
        return bool(value)
    return True


class _Exec:
    def __init__(self, text: str, name: str, funcs: FuncMap) -> None:
        self.text, self.name, self.funcs = text, name, funcs
        self.vars: list[tuple[str, Any]] = []

    def error(self, pos: int, context: str, message: str) -> TemplateError:
        line = line_of(self.text, pos)
        last_nl = self.text.rfind("\n", 0, pos)
        col = pos if last_nl < 0 else pos - last_nl - 1
        return TemplateError(
            f'template: {self.name}:{line}:{col}: executing "{self.name}" at <{context}>: {message}'
        )

    def run(self, nodes: list[Node], dot: Any, out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, Action):
                value = self.pipe(node.pipe, dot)
                if not node.pipe.decl:
                    out.append("<no value>" if value is None else gofmt.sprint_value(value))
            else:
                self.branch(node, dot, out)

    def branch(self, node: Branch, dot: Any, out: list[str]) -> None:
        depth = len(self.vars)
        if node.kind == "range":
            value = self.pipe(node.pipe, dot, declare=False)
            items = self.range_items(value, node.pipe.pos)
            if not items:
                self.run(node.else_body, dot, out)
            for key, item in items:
                names = node.pipe.decl
                if len(names) == 1:
                    self.vars.append((names[0], item))
                elif len(names) == 2:
                    self.vars += [(names[0], key), (names[1], item)]
                self.run(node.body, item, out)
                del self.vars[depth:]
            return
        value = self.pipe(node.pipe, dot)
        if truth(value):
            self.run(node.body, value if node.kind == "with" else dot, out)
        else:
            self.run(node.else_body, dot, out)
        del self.vars[depth:]

    def range_items(self, value: Any, pos: int) -> list[tuple[Any, Any]]:
        if isinstance(value, Mapping):
            return [(k, value[k]) for k in sorted(value)]
        if isinstance(value, list | tuple):
            return list(enumerate(value))
        if isinstance(value, int) and not isinstance(value, bool):
            return [(i, i) for i in range(value)]
        if value is None:
            return []
        raise self.error(pos, "range", f"range can't iterate over {gofmt.sprint_value(value)}")

    def pipe(self, pipe: Pipe, dot: Any, *, declare: bool = True) -> Any:
        value: Any = _MISSING
        for cmd in pipe.cmds:
            value = self.command(cmd, dot, value)
        if declare:
            for name in pipe.decl:
                if pipe.assign:
                    self.set_var(name, value)
                else:
                    self.vars.append((name, value))
        return value

    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return

    def var(self, name: str) -> Any:
        for var_name, value in reversed(self.vars):
            if var_name == name:
                return value
        return None

    def command(self, cmd: Command, dot: Any, final: Any) -> Any:
        first = cmd.args[0]
        if first.kind == "ident":
            args = cmd.args[1:]
            values = [self.operand(a, dot) for a in args]
            if not isinstance(final, _Missing):
                values.append(final)
            # Go reports a failing call at the command, printed as written.
            return self.call(first, values, cmd.pos, " ".join(a.text for a in cmd.args))
        if len(cmd.args) > 1 or not isinstance(final, _Missing):
            raise self.error(
                first.pos, first.text, f"can't give argument to non-function {first.text}"
            )
        return self.operand(first, dot)

    def call(self, ident: Operand, values: list[Any], pos: int, context: str) -> Any:
        try:
            return self.funcs[ident.value](*values)
        except TemplateError as err:
            raise self.error(pos, context, str(err)) from None
        except TypeError as err:
            message = f"wrong number of args for {ident.value}: {err}"
            raise self.error(pos, context, message) from None
        except (ValueError, ArithmeticError, LookupError) as err:
            raise self.error(pos, context, f"error calling {ident.value}: {err}") from None

    def operand(self, op: Operand, dot: Any) -> Any:
        if op.kind == "literal":
            value: Any = op.value
        elif op.kind in ("dot", "field"):
            value = dot
        elif op.kind == "var":
            value = self.var(op.value)
        elif op.kind == "pipe":
            value = self.pipe(op.value, dot, declare=False)
        else:
            value = self.call(op, [], op.pos, op.text)
        for name in op.chain:
            value = self.field(value, name, op)
        return value

    def field(self, value: Any, name: str, op: Operand) -> Any:
        if isinstance(value, GoStruct):
            if name not in value:
                raise self.error(
                    op.pos, op.text, f"can't evaluate field {name} in type {value.type_name}"
                )
            return value[name]
        if isinstance(value, Mapping):
            return value.get(name, "")
        if value is None:
            raise self.error(op.pos, op.text, f"nil pointer evaluating interface {{}}.{name}")
        raise self.error(
            op.pos, op.text, f"can't evaluate field {name} in type {gofmt.go_type(value)}"
        )


def execute(nodes: list[Node], *, text: str, name: str, funcs: FuncMap, data: Any) -> str:
    """Run parsed ``nodes`` with ``data`` as dot and ``$``; Go-shaped errors on failure."""
    runner = _Exec(text, name, funcs)
    runner.vars.append(("$", data))
    out: list[str] = []
    runner.run(nodes, data, out)
    return "".join(out)
