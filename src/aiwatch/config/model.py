"""The parsed configuration: frozen dataclasses that the rest of aiwatch reads."""

from dataclasses import dataclass, field
from typing import Any, Literal

from aiwatch.config.prompts import Prompt
from aiwatch.config.validation import Validation

TargetKind = Literal[
    "openai_chat",
    "anthropic_messages",
    "openai_responses",
    "gemini",
    "openai_images",
    "openai_embeddings",
    "http",
]
CHAT_KINDS = ("openai_chat", "anthropic_messages", "openai_responses", "gemini")
"""The kinds that send prompts and may stream the reply."""
Event = Literal["firing", "acknowledged", "resolved", "silenced"]


class Secret:
    """A secret string that never shows itself in ``repr``, ``str``, logs or output."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Budget:
    """What probes may spend a UTC day; when spent, the probes pause until the next day."""

    tokens_per_day: int | None = None
    cost_per_day: float | None = None


@dataclass(frozen=True)
class GlobalConfig:
    probe_interval: float = 30.0
    probe_timeout: float = 10.0
    evaluation_interval: float = 15.0
    external_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""
    retention: float = 2 * 3600.0
    budget: Budget | None = None
    """What all targets together may spend a day (each instance counts its own shard)."""


@dataclass(frozen=True)
class Expect:
    status: tuple[int, ...] = ()
    contains: str | None = None
    regex: str | None = None
    json_schema: dict[str, Any] | None = None
    max_duration: float | None = None
    max_time_to_first_token: float | None = None
    dimensions: int | None = None
    streaming: bool = False
    """Fail a stream whose content arrived in one burst (``validation_failed``)."""
    image: tuple[int, int] | None = None
    """``openai_images``: the generated image's width and height."""


@dataclass(frozen=True)
class Price:
    input_per_million: float = 0.0
    output_per_million: float = 0.0
    per_image: float = 0.0
    """``openai_images``: USD per generated image."""


@dataclass(frozen=True)
class Objective:
    """One latency objective of a target's ``slo:`` block, e.g. ``latency_p95: 2s``."""

    name: str
    """The config key: ``latency_p95``, ``ttft_p99``…"""
    quantile: float
    seconds: float


@dataclass(frozen=True)
class Slo:
    """A target's ``slo:`` block: latency objectives judged over the last ``window``."""

    objectives: tuple[Objective, ...] = ()
    window: float = 900.0


@dataclass(frozen=True)
class Target:
    name: str
    kind: TargetKind
    url: str
    interval: float
    timeout: float
    model: str = ""
    api_key: Secret | None = None
    feature: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    stream: bool = False
    stall_timeout: float | None = None
    """Streaming: a gap between content chunks longer than this fails with ``stream_stalled``."""
    reuse_connections: bool = True
    method: str = "GET"
    headers: dict[str, Secret] = field(default_factory=dict)
    body: str | dict[str, Any] | list[Any] | None = None
    request: dict[str, Any] = field(default_factory=dict)
    prompts: tuple[Prompt, ...] = ("Reply with the single word: pong",)
    input: tuple[str, ...] = ("aiwatch probe",)
    max_body_bytes: int = 4 * 1024 * 1024
    expect: Expect = field(default_factory=Expect)
    price: Price | None = None
    budget: Budget | None = None
    slo: Slo | None = None


@dataclass(frozen=True)
class Datasource:
    url: str
    timeout: float = 10.0
    basic_auth_username: str | None = None
    basic_auth_password: Secret | None = None
    bearer_token: Secret | None = None


@dataclass(frozen=True)
class Templates:
    title: str | None = None
    body: str | None = None


@dataclass(frozen=True)
class Route:
    name: str
    matchers: tuple[str, ...] = ()
    apprise: tuple[Secret, ...] = ()
    apprise_config: str | None = None
    tags: tuple[str, ...] = ()
    events: tuple[Event, ...] = ("firing", "resolved")
    repeat_interval: float | None = None
    escalate_after: float | None = None
    continue_: bool = False
    templates: Templates = field(default_factory=Templates)


@dataclass(frozen=True)
class Notifications:
    routes: tuple[Route, ...] = ()
    templates: Templates = field(default_factory=Templates)


@dataclass(frozen=True)
class Alertmanager:
    forward_to: tuple[str, ...] = ()
    resend_delay: float = 60.0
    timeout: float = 10.0


@dataclass(frozen=True)
class Variant:
    name: str
    target: str | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class ExperimentMetric:
    name: str
    source: Literal["probe", "observations", "promql"]
    kind: Literal["proportion", "mean", "ratio"] = "mean"
    field: str | None = None
    goal: Literal["increase", "decrease"] = "increase"
    guardrail: bool = False
    minimum_effect: float | None = None
    numerator: str | None = None
    denominator: str | None = None
    margin: float | None = None
    """Canary and blue-green: how much worse the candidate may be (a fraction of the
    baseline's mean, or the metric's unit with ``difference: absolute``)."""
    threshold: float | None = None
    """Blue-green before the switch: the value green must be better than."""


@dataclass(frozen=True)
class Experiment:
    name: str
    control: str
    variants: tuple[Variant, ...]
    metrics: tuple[ExperimentMetric, ...]
    hypothesis: str = ""
    state: Literal["draft", "running", "paused", "stopped"] = "running"
    alpha: float = 0.05
    method: Literal["frequentist", "sequential", "bayesian"] = "frequentist"
    sequential_tuning: float = 5000.0
    prior_mean: float | None = None
    prior_variance: float | None = None
    difference: Literal["relative", "absolute"] = "relative"
    correction: Literal["none", "holm", "bh"] = "holm"
    min_samples: int = 100
    power: float = 0.8
    type: Literal["ab", "canary", "blue_green"] = "ab"
    on_fail: Literal["none", "incident"] = "none"
    validation_suite: str | None = None
    """Blue-green: the validation suite file run against green before the switch."""


@dataclass(frozen=True)
class StatusPage:
    """``web.status_page``: the uptime page at ``/status`` and the badges (off by default)."""

    enabled: bool = False
    title: str = "Status"
    public: bool = False
    """Served without credentials, and showing no label or annotation."""
    targets: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    """Which targets the page shows: these, and those of these features (every one if both
    are empty)."""


@dataclass(frozen=True)
class Web:
    admin_users: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    """Names besides loopback ones that a state-changing request may give as its ``Host``."""
    max_request_body_bytes: int = 1024 * 1024
    external_url: str = ""
    """The URL people reach aiwatch at (``--web.external-url`` overrides it); its path is the
    prefix of every page link, for a reverse proxy serving aiwatch under a path."""
    status_page: StatusPage = field(default_factory=StatusPage)


@dataclass(frozen=True)
class Config:
    """One loaded configuration file."""

    path: str
    global_: GlobalConfig = field(default_factory=GlobalConfig)
    targets: tuple[Target, ...] = ()
    rule_files: tuple[str, ...] = ()
    datasource: Datasource | None = None
    notifications: Notifications = field(default_factory=Notifications)
    alertmanager: Alertmanager = field(default_factory=Alertmanager)
    experiments: tuple[Experiment, ...] = ()
    web: Web = field(default_factory=Web)
    storage_path: str | None = None
    validation: Validation | None = None
    """A validation suite (``aiwatch validate``); the daemon ignores it."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The validated document with secrets replaced by ``<secret>``, for the status API."""

    @property
    def external_url(self) -> str:
        """Where people reach aiwatch: ``web.external_url``, else ``global.external_url``."""
        return self.web.external_url or self.global_.external_url
