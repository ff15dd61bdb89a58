"""How Argo Rollouts' ``web`` metric provider reads a response, for the verdict endpoint's tests.

The templates come from docs/release-gates.md, so the tests check the documented ones. A
measurement is an ``Error`` on a non-2xx status; otherwise the provider applies the metric's
``jsonPath`` (Kubernetes' JSONPath template, of which ``{$.a.b}`` dotted fields are used
here) to the JSON body and evaluates ``successCondition`` and ``failureCondition`` (expr)
with the value as ``result``, then decides the phase as ``utils/evaluate.EvaluateResult``
does: a failure condition that holds is ``Failed``; with neither condition holding
``Inconclusive``; a missing condition is the negation of the other. Argo itself is a Go
controller that needs Kubernetes; this hand-written reader covers the expression forms the
documented templates use (``a.b == "literal"``, ``!=``, ``||`` and ``&&``) and refuses any other.
"""

import json
import re
from pathlib import Path
from typing import Any

import yaml

DOC = Path(__file__).parents[2] / "docs" / "release-gates.md"
_COMPARISON = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(==|!=)\s*"([^"]*)"\s*$')


def documents() -> list[dict[str, Any]]:
    """Every YAML document in docs/release-gates.md's ``yaml`` code blocks that hold a
    Kubernetes resource."""
    text = DOC.read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL) if "\nkind: " in b]
    return [d for block in blocks for d in yaml.safe_load_all(block) if isinstance(d, dict)]


def analysis_metric(name: str) -> dict[str, Any]:
    """The metric of the documented ``AnalysisTemplate`` named ``aiwatch-<name>``."""
    for doc in documents():
        if doc.get("kind") == "AnalysisTemplate" and doc["metadata"]["name"] == f"aiwatch-{name}":
            metric: dict[str, Any] = doc["spec"]["metrics"][0]
            return metric
    raise AssertionError(f"no AnalysisTemplate aiwatch-{name} in {DOC.name}")


def json_path(template: str, body: Any) -> Any:
    """The value a ``{$.a.b}`` JSONPath template selects (``{$}`` is the whole body)."""
    match = re.fullmatch(r"\{\$((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}", template)
    assert match is not None, f"unsupported JSONPath {template!r}"
    value = body
    for field in filter(None, match.group(1).split(".")):
        value = value[field]
    return value


def evaluate(condition: str, result: Any) -> bool:
    """An expr condition of the supported forms, with ``result`` bound."""
    if "||" in condition:
        return any(evaluate(part, result) for part in condition.split("||"))
    if "&&" in condition:
        return all(evaluate(part, result) for part in condition.split("&&"))
    match = _COMPARISON.match(condition)
    assert match is not None, f"unsupported condition {condition!r}"
    name, operator, literal = match.groups()
    parts = name.split(".")
    assert parts[0] == "result", f"unknown variable in {condition!r}"
    value = result
    for field in parts[1:]:
        value = value[field]
    return (value == literal) == (operator == "==")


def argo_phase(metric: dict[str, Any], status: int, body: dict[str, Any]) -> str:
    """The measurement phase Argo Rollouts gives this response."""
    if not 200 <= status < 300:
        return "Error"
    web = metric["provider"]["web"]
    value = json_path(web.get("jsonPath", "{$}"), json.loads(json.dumps(body)))
    success_text, failure_text = metric.get("successCondition"), metric.get("failureCondition")
    success = evaluate(success_text, value) if success_text else False
    failure = evaluate(failure_text, value) if failure_text else False
    if success_text and not failure_text:
        failure = not success
    elif failure_text and not success_text:
        success = not failure
    if failure:
        return "Failed"
    return "Successful" if success else "Inconclusive"
