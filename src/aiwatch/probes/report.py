"""How a probe is explained to people: the debug text of ``/probe`` and the targets API entries."""

from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from typing import Any

from aiwatch.config.model import Secret, Target
from aiwatch.probes.anthropic import messages_request
from aiwatch.probes.embeddings import embeddings_request
from aiwatch.probes.gemini import gemini_request
from aiwatch.probes.http import http_request
from aiwatch.probes.openai_chat import chat_request
from aiwatch.probes.openai_images import images_request
from aiwatch.probes.openai_responses import responses_request
from aiwatch.probes.result import ProbeResult
from aiwatch.redaction import REDACTED, redact_url


def iso(timestamp: float | None) -> str | None:
    """Unix seconds as RFC 3339 UTC with milliseconds, as the rest of the API writes times."""
    if timestamp is None:
        return None
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """A JSON-ready copy of a config value; every ``Secret`` becomes ``<secret>``."""
    if isinstance(value, Secret):
        return REDACTED
    if is_dataclass(value) and not isinstance(value, type):
        # What a value's repr leaves out (an image's bytes) the API leaves out too.
        return {f.name: plain(getattr(value, f.name)) for f in fields(value) if f.repr}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def sent_method(target: Target) -> str:
    """The HTTP method a probe of ``target`` sends, taken from the request it builds."""
    if target.kind == "openai_chat":
        return chat_request(target, prompt_index=0).method
    if target.kind == "anthropic_messages":
        return messages_request(target, prompt_index=0).method
    if target.kind == "openai_responses":
        return responses_request(target, prompt_index=0).method
    if target.kind == "gemini":
        return gemini_request(target, prompt_index=0).method
    if target.kind == "openai_images":
        return images_request(target, prompt_index=0).method
    if target.kind == "openai_embeddings":
        return embeddings_request(target, prompt_index=0).method
    return http_request(target).method


def describe(target: Target) -> dict[str, Any]:
    """The effective config of a target (defaults filled in), secrets redacted."""
    out: dict[str, Any] = plain(target)
    out["url"] = redact_url(target.url)
    # ``method`` is configurable only for ``http``; the OpenAI kinds always POST, whatever the
    # unused field holds. Asking the request builders keeps this from drifting from the wire.
    out["method"] = sent_method(target)
    return out


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.6f}s"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines()) or "  (none)"


def debug_text(target: Target, result: ProbeResult, exposition: bytes) -> str:
    """What ``/probe?debug=true`` answers: request, timings, checks, verdict and metrics."""
    verdict = "success" if result.success else f"failure: {result.error_type or 'other'}"
    lines = [
        f"Probe of target {target.name!r} (kind {target.kind}"
        + (f", model {target.model}" if target.model else "")
        + (", streaming" if target.stream else "")
        + ")",
        f"Started at {iso(result.started_at)}, finished at {iso(result.finished_at)}",
        f"Result: {verdict}",
    ]
    if result.error:
        lines.append(f"Error: {result.error}")
    lines += ["", "Request (secrets redacted):", _indent(result.request_summary), ""]
    lines += [
        "Timings:",
        f"  status code:           {result.status_code if result.status_code else '-'}",
        f"  duration:              {_seconds(result.duration)}",
        f"  time to first byte:    {_seconds(result.time_to_first_byte)}",
        f"  time to first token:   {_seconds(result.time_to_first_token)}",
        f"  time per output token: {_seconds(result.time_per_output_token)}",
        "",
        "Response:",
        f"  model: {result.response_model or '-'}",
        f"  system fingerprint: {result.system_fingerprint or '-'}",
        f"  input tokens: {_opt(result.input_tokens)}, output tokens: "
        f"{_opt(result.output_tokens)}"
        + (" (estimated: content chunks, no usage)" if result.output_tokens_estimated else "")
        + f", cost: {_opt(result.cost_usd)} USD",
        f"  rate limit remaining: requests {_opt(result.ratelimit_remaining_requests)}, "
        f"tokens {_opt(result.ratelimit_remaining_tokens)}"
        + "".join(f", {name} {_opt(value)}" for name, value in result.ratelimit_remaining_other),
        "  rate limit resets in: "
        + (", ".join(f"{name} {value:g}s" for name, value in result.ratelimit_reset) or "-")
        + f"; retry after: {_seconds(result.retry_after)}",
    ]
    if result.stream_buffered is not None:
        lines += _stream_lines(result)
    if result.embedding_dimensions is not None:
        lines.append(f"  embedding dimensions: {result.embedding_dimensions}")
    if result.images is not None:
        lines.append(f"  images: {result.images}, the first: {result.image or '-'}")
    lines += ["", "Checks:"]
    lines += [
        f"  [{'ok' if check.ok else 'FAILED'}] {check.name}: {check.detail}"
        for check in result.checks
    ] or ["  (none run)"]
    lines += ["", "Response excerpt:", _indent(result.response_excerpt), ""]
    lines += ["Metrics:", exposition.decode()]
    return "\n".join(lines)


def _stream_lines(result: ProbeResult) -> list[str]:
    buffered = "yes: the content arrived in one burst" if result.stream_buffered else "no"
    return [
        f"  content chunks: {result.content_chunks}, longest gap between them: "
        f"{_seconds(result.longest_chunk_gap)}",
        f"  buffered stream: {buffered}",
    ]


def _opt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def target_entry(
    target: Target,
    *,
    labels: dict[str, str],
    shard: int,
    member: bool,
    last: ProbeResult | None,
    next_due: float | None,
    probes: int,
    skipped: int,
    paused: str | None = None,
) -> dict[str, Any]:
    """One target in ``GET /api/v1/targets``; ``paused`` is why a spent budget holds it."""
    health = "unknown" if last is None else ("up" if last.success else "down")
    error = None
    if last is not None and not last.success:
        error = {"type": last.error_type or "other", "message": last.error or ""}
    return {
        "name": target.name,
        "kind": target.kind,
        "labels": labels,
        "shard": shard,
        "in_shard": member,
        "health": health,
        "last_error": error,
        "last_duration_seconds": None if last is None else last.duration,
        "last_probe_time": None if last is None else iso(last.finished_at),
        "next_due_time": iso(next_due),
        "last_checks": []
        if last is None
        else [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in last.checks],
        "probes": probes,
        "skipped": skipped,
        "paused": None if paused is None else "budget",
        "paused_reason": paused,
        "config": describe(target),
    }
