"""What a valid config may still get wrong: ``WARNING:`` lines of ``check config``, logged
at start-up too. None of them stops aiwatch."""

import re
from collections.abc import Callable

from aiwatch.config.model import CHAT_KINDS, Budget, Config, StatusPage, Target
from aiwatch.config.problems import Problem
from aiwatch.config.validation import Margins, Thresholds
from aiwatch.config.yamlpos import Path, Positions, format_path

# The path an API probe appends itself: a url that ends with one is doubled.
_API_PATH = re.compile(
    r"/(chat/completions|completions|embeddings|responses|messages|models|images/generations"
    r"|models/[^/]*:(stream)?[gG]enerateContent)/?$"
)
_APPENDS = {
    "openai_chat": "/chat/completions",
    "anthropic_messages": "/messages",
    "openai_responses": "/responses",
    "gemini": "/models/{model}:generateContent",
    "openai_embeddings": "/embeddings",
    "openai_images": "/images/generations",
}
_BASES = {"gemini": "…/v1beta"}


def config_warnings(
    config: Config, positions: Positions, *, text: str, alerting_rules: int
) -> list[Problem]:
    """Every warning about ``config`` (whose file holds ``text``), located like problems."""
    out: list[Problem] = []

    def warn(path: Path, message: str) -> None:
        line, col = positions.of(path)
        out.append(
            Problem(config.path, line, col, format_path(path) if path else "(file)", message)
        )

    if not re.sub(r"#.*", "", text).strip():
        warn((), "the config is empty: aiwatch will probe nothing and alert on nothing")
    for i, target in enumerate(config.targets):
        api_path = _API_PATH.search(target.url)
        if target.kind in _APPENDS and api_path:
            warn(
                ("targets", i, "url"),
                f"ends in the API path {api_path.group(0)!r}, and the probe appends "
                f"{_APPENDS[target.kind]} itself: give the API's base "
                f"({_BASES.get(target.kind, '…/v1')})",
            )
        if target.kind == "gemini" and target.model.startswith("models/"):
            warn(
                ("targets", i, "model"),
                f"the probe sends {{url}}/models/{{model}}: write {target.model[7:]!r}, "
                "without 'models/'",
            )
        if target.timeout > target.interval:
            warn(
                ("targets", i, "timeout"),
                f"longer than the interval ({target.timeout:g}s > {target.interval:g}s): a "
                "probe still running when the next is due makes that one skipped",
            )
    _budget_warnings(config, warn)
    _gate_warnings(config, warn)
    page = config.web.status_page
    if not page.enabled and page != StatusPage():
        warn(
            ("web", "status_page"),
            "is set but not enabled: /status and the badges are not served (add enabled: true)",
        )
    if alerting_rules and not config.notifications.routes and not config.alertmanager.forward_to:
        warn(
            ("rule_files",),
            f"{alerting_rules} alerting rule{'s' if alerting_rules != 1 else ''} but no "
            "notifications.routes and no alertmanager.forward_to: incidents will open and "
            "nobody will be told",
        )
    return out


DAY = 86400.0
_MAX_TOKENS_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


# The anthropic_messages probe sends max_tokens 256 when ``request`` sets none (the API
# requires one).
_DEFAULT_MAX_TOKENS = {"anthropic_messages": 256}


def _max_tokens(target: Target) -> int | None:
    """The most output tokens a probe asks for: ``request``'s limit in the kind's own key."""
    generation = target.request.get("generationConfig")
    places = [target.request, generation if isinstance(generation, dict) else {}]
    for place in places:
        for key in (*_MAX_TOKENS_KEYS, "maxOutputTokens"):
            value = place.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return _DEFAULT_MAX_TOKENS.get(target.kind)


def _worst_case(target: Target) -> tuple[float, float] | None:
    """Output tokens and USD a day if every probe used its ``max_tokens``; None if unbounded.
    An image generation costs its ``n`` images."""
    if target.kind == "openai_images":
        n = target.request.get("n", 1)
        images = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1
        per_image = target.price.per_image if target.price is not None else 0.0
        return 0.0, DAY / target.interval * images * per_image
    most = _max_tokens(target)
    if most is None:
        return None
    tokens = DAY / target.interval * most
    price = target.price.output_per_million if target.price is not None else 0.0
    return tokens, tokens * price / 1e6


def _exceeds(worst: tuple[float, float], budget: Budget) -> str | None:
    tokens, cost = worst
    if budget.tokens_per_day is not None and tokens > budget.tokens_per_day:
        return f"{tokens:,.0f} tokens > tokens_per_day {budget.tokens_per_day:,}"
    if budget.cost_per_day is not None and cost > budget.cost_per_day:
        return f"{cost:.4g} USD > cost_per_day {budget.cost_per_day:g}"
    return None


def _budget_warnings(config: Config, warn: Callable[[Path, str], None]) -> None:
    """Budgets that the worst case (interval × max tokens × price) spends before the day ends."""
    total = [0.0, 0.0]
    for i, target in enumerate(config.targets):
        # Chat kinds generate up to a maximum, image generation its n images; other kinds'
        # spending is not bounded by a request key (an embedding's tokens are its input's).
        bounded = target.kind in CHAT_KINDS or target.kind == "openai_images"
        worst = _worst_case(target) if bounded else (0.0, 0.0)
        if worst is None:
            if target.budget is not None:
                warn(
                    ("targets", i, "budget"),
                    "request sets no max_tokens: the worst case of a probe is unbounded",
                )
            continue
        total[0] += worst[0]
        total[1] += worst[1]
        over = _exceeds(worst, target.budget) if target.budget is not None else None
        if over:
            each = f"max_tokens {_max_tokens(target)}"
            if target.kind == "openai_images":
                each = f"n {target.request.get('n', 1)} × per_image"
            warn(
                ("targets", i, "budget"),
                f"worst case a day ({DAY / target.interval:,.0f} probes × {each}): {over}; "
                "probes will pause before the day ends",
            )
    overall = config.global_.budget
    if overall is not None and (over := _exceeds((total[0], total[1]), overall)):
        warn(
            ("global", "budget"),
            f"worst case a day of all targets together: {over}; probes will pause before "
            "the day ends",
        )


def _gate_warnings(config: Config, warn: Callable[[Path, str], None]) -> None:
    """Gates of ``aiwatch validate`` that would pass whatever the calls answer."""
    for i, gate in enumerate(config.validation.gates if config.validation else ()):
        at: Path = ("validation", "gates", i)
        margins = gate.margins != Margins()
        if gate.baseline is None and margins:
            warn((*at, "non_inferiority"), "has no baseline to compare with: set baseline")
        elif gate.baseline is not None and not margins:
            warn(
                (*at, "baseline"),
                "is compared only through non_inferiority margins, and none is set: it is "
                "probed for nothing",
            )
        if gate.thresholds == Thresholds() and not margins:
            warn(
                at,
                "checks nothing: with neither thresholds nor non_inferiority it passes "
                "whatever the calls answer, even when every call fails",
            )
