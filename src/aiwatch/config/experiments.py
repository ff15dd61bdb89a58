"""The ``experiments:`` list: frozen experiments from schema-valid documents, cross-key checks.

The same checks run for the config file and for an experiment created over the API.
"""

from collections.abc import Callable
from typing import Any

import promql_parser

from aiwatch.config.model import Datasource, Experiment, ExperimentMetric, Target, Variant
from aiwatch.config.yamlpos import Path
from aiwatch.promql.errors import locate

Report = Callable[[Path, str], None]

RELEASE_TYPES = frozenset({"canary", "blue_green"})
"""Experiment types that compare a candidate with a baseline for a release decision."""


def _promql_syntax(query: Any) -> str | None:
    """Why an experiment's PromQL does not parse (None if it does, or is absent).

    Only the syntax: the query runs on the datasource's Prometheus, which may know
    functions aiwatch's own engine does not. ``$variant`` and ``$__range`` are filled in
    first, as they are before each query.
    """
    if not isinstance(query, str):
        return None
    text = query.replace("$__range", "1m").replace("$variant", "v")
    try:
        promql_parser.parse(text)
    except ValueError as err:
        return f"invalid PromQL: {locate(text, str(err), promql_parser.parse)}"
    return None


def build_experiments(
    items: list[dict[str, Any]],
    targets: tuple[Target, ...],
    datasource: Datasource | None,
    report: Report,
    skip: tuple[type[Exception], ...],
) -> tuple[Experiment, ...]:
    target_names = {t.name for t in targets}
    out = []
    seen: set[str] = set()
    for i, e in enumerate(items):
        if not isinstance(e, dict):
            continue
        try:
            out.append(_experiment(i, e, target_names, datasource, report, seen))
        except skip:
            continue
    return tuple(out)


def _experiment(  # noqa: PLR0917 - the loop's state, in order; called once
    i: int,
    e: dict[str, Any],
    target_names: set[str],
    datasource: Datasource | None,
    report: Report,
    seen: set[str],
) -> Experiment:
    here: Path = ("experiments", i)
    if e["name"] in seen:
        report((*here, "name"), f"duplicate experiment name {e['name']!r}")
    seen.add(e["name"])
    variant_names = [v["name"] for v in e["variants"]]
    if len(set(variant_names)) != len(variant_names):
        report((*here, "variants"), "variant names must be unique")
    if e["control"] not in variant_names:
        report((*here, "control"), f"{e['control']!r} is not one of the variants")
    if any(m["source"] == "probe" for m in e["metrics"]):
        for k, v in enumerate(e["variants"]):
            if v.get("target") not in target_names:
                report(
                    (*here, "variants", k, "target"),
                    f"{v.get('target')!r} is not a configured target",
                )
    metrics = []
    metric_names: set[str] = set()
    for j, m in enumerate(e["metrics"]):
        mpath: Path = (*here, "metrics", j)
        if m["name"] in metric_names:
            report((*mpath, "name"), f"duplicate metric name {m['name']!r}")
        metric_names.add(m["name"])
        metrics.append(_metric(m, mpath, datasource, report))
    _check_release(e, here, report)
    return _build(e, tuple(metrics))


def _metric(
    m: dict[str, Any], mpath: Path, datasource: Datasource | None, report: Report
) -> ExperimentMetric:
    source = m["source"]
    field = m.get("field")
    if source == "probe" and field is None and m.get("kind") == "proportion":
        field = "success"  # the only proportion a probe gives (the contract's example)
    kind = m.get("kind", "proportion" if field == "success" else "mean")
    if source == "probe" and field is None:
        report(mpath, "field is required for source: probe")
    if source != "probe" and field is not None:
        report((*mpath, "field"), f"field only applies to source: probe, not {source}")
    if source == "promql":
        kind = m.get("kind", "ratio")
        if datasource is None:
            report(mpath, "source: promql needs datasource.url")
        if "numerator" not in m:
            report(mpath, "numerator is required for source: promql")
        for part in ("numerator", "denominator"):
            problem = _promql_syntax(m.get(part))
            if problem is not None:
                report((*mpath, part), problem)
    return ExperimentMetric(
        name=m["name"],
        source=source,
        kind=kind,
        field=field,
        goal=m.get("goal", "increase"),
        guardrail=m.get("guardrail", False),
        minimum_effect=m.get("minimum_effect"),
        numerator=m.get("numerator"),
        denominator=m.get("denominator"),
        margin=m.get("margin"),
        threshold=m.get("threshold"),
    )


def _check_release(e: dict[str, Any], here: Path, report: Report) -> None:
    """A canary or blue-green experiment: one baseline, one candidate, a margin per metric."""
    kind = e.get("type", "ab")
    if "validation" in e and kind != "blue_green":
        report((*here, "validation"), f"validation applies to blue_green, not {kind}")
    if kind not in RELEASE_TYPES:
        if "on_fail" in e:
            report((*here, "on_fail"), f"on_fail applies to canary and blue_green, not {kind}")
        for j, m in enumerate(e["metrics"]):
            for key in ("margin", "threshold"):
                if key in m:
                    report((*here, "metrics", j, key), f"{key} applies to canary and blue_green")
        return
    if len(e["variants"]) != 2:
        report((*here, "variants"), f"a {kind} experiment has exactly two variants")
    for j, m in enumerate(e["metrics"]):
        if "margin" not in m:
            report((*here, "metrics", j), f"margin is required in a {kind} experiment")
        if kind == "blue_green" and "threshold" not in m:
            report((*here, "metrics", j), "threshold is required in a blue_green experiment")


def _build(e: dict[str, Any], metrics: tuple[ExperimentMetric, ...]) -> Experiment:
    prior = e.get("prior")
    return Experiment(
        name=e["name"],
        control=e["control"],
        variants=tuple(
            Variant(v["name"], v.get("target"), v.get("weight", 1.0)) for v in e["variants"]
        ),
        metrics=metrics,
        hypothesis=e.get("hypothesis", ""),
        state=e.get("state", "running"),
        alpha=e.get("alpha", 0.05),
        method=e.get("method", "frequentist"),
        sequential_tuning=e.get("sequential_tuning", 5000.0),
        prior_mean=prior["mean"] if prior else None,
        prior_variance=prior["variance"] if prior else None,
        difference=e.get("difference", "relative"),
        correction=e.get("correction", "holm"),
        min_samples=e.get("min_samples", 100),
        power=e.get("power", 0.8),
        type=e.get("type", "ab"),
        on_fail=e.get("on_fail", "none"),
        validation_suite=e["validation"]["suite"] if "validation" in e else None,
    )
