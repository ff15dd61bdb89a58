"""What a valid config may still get wrong: ``WARNING:`` lines of ``check config``, logged
at start-up too. None of them stops aiwatch."""

import re

from aiwatch.config.model import Config
from aiwatch.config.problems import Problem
from aiwatch.config.yamlpos import Path, Positions, format_path

# The path an API probe appends itself: a url that ends with one is doubled.
_API_PATH = re.compile(r"/(chat/completions|completions|embeddings|responses|messages|models)/?$")
_APPENDS = {
    "openai_chat": "/chat/completions",
    "anthropic_messages": "/messages",
    "openai_responses": "/responses",
    "gemini": "/models/{model}:generateContent",
    "openai_embeddings": "/embeddings",
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
        if target.timeout > target.interval:
            warn(
                ("targets", i, "timeout"),
                f"longer than the interval ({target.timeout:g}s > {target.interval:g}s): a "
                "probe still running when the next is due makes that one skipped",
            )
    if alerting_rules and not config.notifications.routes and not config.alertmanager.forward_to:
        warn(
            ("rule_files",),
            f"{alerting_rules} alerting rule{'s' if alerting_rules != 1 else ''} but no "
            "notifications.routes and no alertmanager.forward_to: incidents will open and "
            "nobody will be told",
        )
    return out
