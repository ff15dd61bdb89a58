"""Turn a schema-valid config document into frozen dataclasses, with cross-key checks."""

import copy
from collections.abc import Callable
from typing import Any

from aiwatch.config.experiments import build_experiments
from aiwatch.config.images import PromptFiles
from aiwatch.config.model import (
    CHAT_KINDS,
    Alertmanager,
    Budget,
    Config,
    Datasource,
    Expect,
    GlobalConfig,
    Notifications,
    Objective,
    Price,
    Route,
    Secret,
    Slo,
    StatusPage,
    Target,
    Templates,
    Web,
)
from aiwatch.config.validation import build_validation
from aiwatch.config.yamlpos import Path
from aiwatch.durations import parse_duration
from aiwatch.redaction import REDACTED, redact_urls_in

Report = Callable[[Path, str], None]
_SECRET_FIELDS = frozenset({"api_key", "password", "bearer_token", "apprise", "headers"})


def _dur(value: str | None, default: float) -> float:
    return default if value is None else parse_duration(value)


def _opt_dur(value: str | None) -> float | None:
    return None if value is None else parse_duration(value)


def build_config(
    doc: dict[str, Any],
    path: str,
    report: Report,
    *,
    tolerant: bool = False,
    files: PromptFiles | None = None,
) -> Config:
    """Build a ``Config``; ``report`` receives each cross-key problem.

    ``files``: the images and prompt folders the prompts name, as loading found them.

    ``tolerant``: the schema found problems (already reported) and their values were
    removed; an item missing a required key is skipped instead of failing the build.
    """
    skip: tuple[type[Exception], ...] = (KeyError, TypeError, ValueError) if tolerant else ()
    files = files or PromptFiles()
    g = doc.get("global", {})
    glob = GlobalConfig(
        probe_interval=_dur(g.get("probe_interval"), 30.0),
        probe_timeout=_dur(g.get("probe_timeout"), 10.0),
        evaluation_interval=_dur(g.get("evaluation_interval"), 15.0),
        external_labels=dict(g.get("external_labels", {})),
        external_url=g.get("external_url", ""),
        retention=_dur(g.get("retention"), 7200.0),
        budget=_budget(g.get("budget")),
    )
    targets = _targets(doc.get("targets", []), glob, report, skip, files)
    datasource = _datasource(doc.get("datasource")) if "url" in doc.get("datasource", {}) else None
    experiments = build_experiments(doc.get("experiments", []), targets, datasource, report, skip)
    am = doc.get("alertmanager", {})
    web = doc.get("web", {})
    return Config(
        path=path,
        global_=glob,
        targets=targets,
        rule_files=tuple(doc.get("rule_files", [])),
        datasource=datasource,
        notifications=_notifications(doc.get("notifications", {}), report, skip),
        alertmanager=Alertmanager(
            forward_to=tuple(am.get("forward_to", [])),
            resend_delay=_dur(am.get("resend_delay"), 60.0),
            timeout=_dur(am.get("timeout"), 10.0),
        ),
        experiments=experiments,
        web=Web(
            admin_users=tuple(web.get("admin_users", [])),
            allowed_hosts=tuple(h.lower().rstrip(".") for h in web.get("allowed_hosts", [])),
            max_request_body_bytes=web.get("max_request_body_bytes", 1024 * 1024),
            external_url=web.get("external_url", ""),
            status_page=_status_page(web.get("status_page", {}), targets, report),
        ),
        storage_path=doc.get("storage", {}).get("path"),
        validation=build_validation(doc["validation"], skip, expand=files.expand)
        if "validation" in doc
        else None,
        raw=redact(doc),
    )


def redact(doc: Any) -> Any:
    """A deep copy of ``doc`` with every secret value replaced by ``<secret>``, and the
    credentials of every URL in it hidden (``http://user:<secret>@host/?token=<secret>``)."""
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for key, value in doc.items():
            if key == "headers" and isinstance(value, dict):
                out[key] = dict.fromkeys(value, REDACTED)
            elif key in _SECRET_FIELDS:
                out[key] = [REDACTED] * len(value) if isinstance(value, list) else REDACTED
            else:
                out[key] = redact(value)
        return out
    if isinstance(doc, list):
        return [redact(v) for v in doc]
    if isinstance(doc, str):
        return redact_urls_in(doc)
    return copy.copy(doc)


# Keys that only one kind of probe reads: elsewhere they would be silently ignored.
_KIND_KEYS = {
    "stream": CHAT_KINDS,
    "prompts": (*CHAT_KINDS, "openai_images"),
    "input": ("openai_embeddings",),
    "request": (*CHAT_KINDS, "openai_images", "openai_embeddings"),
    "method": ("http",),
    "body": ("http",),
}


def kinds_reading(key: str) -> frozenset[str]:
    """The target kinds that read ``key`` (``prompts``: the kinds that send prompts)."""
    return frozenset(_KIND_KEYS[key])


def _targets(
    items: list[dict[str, Any]],
    glob: GlobalConfig,
    report: Report,
    skip: tuple[type[Exception], ...],
    files: PromptFiles,
) -> tuple[Target, ...]:
    seen: dict[str, int] = {}
    out = []
    for i, t in enumerate(items):
        if not isinstance(t, dict):
            continue
        name = t.get("name")
        if isinstance(name, str) and name in seen:
            report(
                ("targets", i, "name"),
                f"duplicate target name {name!r} (first at targets[{seen[name]}])",
            )
        if isinstance(name, str):
            seen.setdefault(name, i)
        try:
            out.append(_target(i, t, glob, report, files))
        except skip:
            continue
    return tuple(out)


def _target(
    i: int, t: dict[str, Any], glob: GlobalConfig, report: Report, files: PromptFiles
) -> Target:
    """One target; ``report`` gets the keys its kind does not read."""
    interval = _dur(t.get("interval"), glob.probe_interval)
    timeout = _dur(t.get("timeout"), min(glob.probe_timeout, interval))
    if t["kind"] != "http" and not t.get("model"):
        report(("targets", i), f"model is required for kind {t['kind']}")
    for key, kinds in _KIND_KEYS.items():
        # ``stream: false`` asks for nothing, so it is fine anywhere.
        if t.get(key, False) is not False and t["kind"] not in kinds:
            which = "kind " if len(kinds) == 1 else "kinds "
            report(("targets", i, key), "only for " + which + ", ".join(kinds))
    e = t.get("expect", {})
    if "dimensions" in e and t["kind"] != "openai_embeddings":
        report(("targets", i, "expect", "dimensions"), "only for kind openai_embeddings")
    _images_keys(i, t, report)
    if "max_time_to_first_token" in e and not (t["kind"] in CHAT_KINDS and t.get("stream")):
        report(
            ("targets", i, "expect", "max_time_to_first_token"),
            "only for kinds " + ", ".join(CHAT_KINDS) + " with stream: true",
        )
    _stream_keys(i, t, report)
    price = t.get("price")
    return Target(
        name=t["name"],
        kind=t["kind"],
        url=t["url"].rstrip("/"),
        interval=interval,
        timeout=timeout,
        model=t.get("model", ""),
        api_key=Secret(t["api_key"]) if "api_key" in t else None,
        feature=t.get("feature", ""),
        labels=dict(t.get("labels", {})),
        stream=t.get("stream", False),
        stall_timeout=_opt_dur(t.get("stall_timeout")),
        reuse_connections=t.get("reuse_connections", True),
        method=t.get("method", "POST" if "body" in t else "GET"),
        headers={k: Secret(v) for k, v in t.get("headers", {}).items()},
        body=t.get("body"),
        request=dict(t.get("request", {})),
        prompts=tuple(p for item in t.get("prompts", []) for p in files.expand(item))
        or Target.prompts,
        input=tuple(t.get("input", [])) or Target.input,
        max_body_bytes=t.get("max_body_bytes", 4 * 1024 * 1024),
        expect=_expect(e),
        slo=_slo(i, t, report),
        price=Price(
            price.get("input_per_million", 0.0),
            price.get("output_per_million", 0.0),
            price.get("per_image", 0.0),
        )
        if price is not None
        else None,
        budget=_budget(t.get("budget")),
    )


def _images_keys(i: int, t: dict[str, Any], report: Report) -> None:
    """Keys of image generation: they mean something to ``openai_images`` alone, whose
    prompts are plain text."""
    images = t["kind"] == "openai_images"
    if "image" in t.get("expect", {}) and not images:
        report(("targets", i, "expect", "image"), "only for kind openai_images")
    if "per_image" in (t.get("price") or {}) and not images:
        report(("targets", i, "price", "per_image"), "only for kind openai_images")
    for j, prompt in enumerate(t.get("prompts", []) if images else ()):
        if prompt is not None and not isinstance(prompt, str):
            report(("targets", i, "prompts", j), "openai_images takes text prompts only")


def _budget(b: dict[str, Any] | None) -> Budget | None:
    if not b:
        return None
    return Budget(tokens_per_day=b.get("tokens_per_day"), cost_per_day=b.get("cost_per_day"))


def _stream_keys(i: int, t: dict[str, Any], report: Report) -> None:
    """Keys that only a streamed answer gives meaning to."""
    for path in (("stall_timeout",), ("expect", "streaming")):
        where = t.get("expect", {}) if path[0] == "expect" else t
        if where.get(path[-1], False) is not False and not t.get("stream"):
            report(("targets", i, *path), "only with stream: true")


_QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}


def _slo(i: int, t: dict[str, Any], report: Report) -> Slo | None:
    """A target's ``slo:`` block; TTFT objectives need a streamed reply to measure."""
    s = t.get("slo")
    if s is None:
        return None
    objectives = []
    for key, value in s.items():
        kind, _, rank = key.partition("_")
        if key == "window" or rank not in _QUANTILES:
            continue
        if kind == "ttft" and not t.get("stream"):
            report(("targets", i, "slo", key), "only for targets with stream: true")
        objectives.append(Objective(key, _QUANTILES[rank], parse_duration(value)))
    return Slo(objectives=tuple(objectives), window=_dur(s.get("window"), 900.0))


def _status_page(s: dict[str, Any], targets: tuple[Target, ...], report: Report) -> StatusPage:
    names = {t.name for t in targets}
    for j, name in enumerate(s.get("targets", [])):
        if name not in names:
            report(("web", "status_page", "targets", j), f"no target named {name!r}")
    features = {t.feature for t in targets}
    for j, feature in enumerate(s.get("features", [])):
        if feature not in features:
            report(("web", "status_page", "features", j), f"no target has feature {feature!r}")
    return StatusPage(
        enabled=s.get("enabled", False),
        title=s.get("title", "Status"),
        public=s.get("public", False),
        targets=tuple(s.get("targets", [])),
        features=tuple(s.get("features", [])),
    )


def _expect(e: dict[str, Any]) -> Expect:
    return Expect(
        status=tuple(e.get("status", [])),
        contains=e.get("contains"),
        regex=e.get("regex"),
        json_schema=e.get("json_schema"),
        max_duration=_opt_dur(e.get("max_duration")),
        max_time_to_first_token=_opt_dur(e.get("max_time_to_first_token")),
        dimensions=e.get("dimensions"),
        streaming=e.get("streaming", False),
        image=(e["image"]["width"], e["image"]["height"]) if "image" in e else None,
    )


def _datasource(d: dict[str, Any] | None) -> Datasource | None:
    if d is None:
        return None
    auth = d.get("basic_auth", {})
    return Datasource(
        url=d["url"].rstrip("/"),
        timeout=_dur(d.get("timeout"), 10.0),
        basic_auth_username=auth.get("username"),
        basic_auth_password=Secret(auth["password"]) if "password" in auth else None,
        bearer_token=Secret(d["bearer_token"]) if "bearer_token" in d else None,
    )


def _templates(t: dict[str, str] | None) -> Templates:
    t = t or {}
    return Templates(title=t.get("title"), body=t.get("body"))


def _check_templates(t: dict[str, str] | None, path: tuple[Any, ...], report: Report) -> None:
    from aiwatch.notify.messages import check

    for part, text in (t or {}).items():
        if (error := check(text)) is not None:
            report((*path, "templates", part), error)


def _notifications(
    n: dict[str, Any], report: Report, skip: tuple[type[Exception], ...]
) -> Notifications:
    routes = []
    names: set[str] = set()
    _check_templates(n.get("templates"), ("notifications",), report)
    items = n.get("routes", [])
    for i, r in enumerate(items):
        if not isinstance(r, dict):
            continue
        _check_templates(r.get("templates"), ("notifications", "routes", i), report)
        if "escalate_after" in r and i == len(items) - 1:
            report(
                ("notifications", "routes", i, "escalate_after"),
                "escalates to the next route, but this is the last route",
            )
        name = r.get("name", f"route{i}")
        if name in names:
            report(("notifications", "routes", i, "name"), f"duplicate route name {name!r}")
        names.add(name)
        if not r.get("apprise") and not r.get("apprise_config"):
            report(("notifications", "routes", i), "needs apprise URLs or apprise_config")
        routes.append(
            Route(
                name=name,
                matchers=tuple(r.get("matchers", [])),
                apprise=tuple(Secret(u) for u in r.get("apprise", [])),
                apprise_config=r.get("apprise_config"),
                tags=tuple(r.get("tags", [])),
                events=tuple(r.get("events", ["firing", "resolved"])),
                repeat_interval=_opt_dur(r.get("repeat_interval")),
                escalate_after=_opt_dur(r.get("escalate_after")),
                continue_=r.get("continue", False),
                templates=_templates(r.get("templates")),
            )
        )
    return Notifications(routes=tuple(routes), templates=_templates(n.get("templates")))
