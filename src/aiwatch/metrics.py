"""Every metric aiwatch exposes: names, help texts and buckets, defined in this one place."""

from dataclasses import dataclass

PREFIX = "aiwatch_"

# OpenTelemetry GenAI semantic-convention buckets.
DURATION_BUCKETS = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
TTFT_BUCKETS = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
TPOT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
# Gaps between stream chunks: the time-per-output-token boundaries, as GenAI's conventions
# give them for the time per output chunk too.
CHUNK_GAP_BUCKETS = TPOT_BUCKETS
# Incident response times: a minute to a day.
RESPONSE_BUCKETS = (
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
    7200.0,
    14400.0,
    43200.0,
    86400.0,
)
NOTIFY_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
RULE_EVAL_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(frozen=True)
class MetricDef:
    """A metric's name (without the ``_total`` of counters in ``name``), type and help."""

    name: str
    type: str
    help: str


def _m(name: str, type_: str, help_: str) -> MetricDef:
    return MetricDef(PREFIX + name, type_, help_)


# Probes
PROBE_SUCCESS = _m("probe_success", "gauge", "1 if the last probe passed every check.")
PROBES = _m("probes", "counter", "Probes run, by result.")
PROBE_ERRORS = _m("probe_errors", "counter", "Failed probes by cause.")
PROBE_DURATION = _m("probe_duration_seconds", "histogram", "Request start to last byte.")
PROBE_TTFB = _m(
    "probe_time_to_first_byte_seconds", "histogram", "Request start to first response byte."
)
PROBE_TTFT = _m(
    "probe_time_to_first_token_seconds",
    "histogram",
    "Streaming: request start to the first chunk with non-empty content.",
)
PROBE_TPOT = _m(
    "probe_time_per_output_token_seconds",
    "histogram",
    "Streaming: (duration - time to first token) / (output tokens - 1).",
)
PROBE_CHUNK_GAP = _m(
    "probe_inter_chunk_seconds",
    "histogram",
    "Streaming: time between consecutive content chunks, every gap of every probe.",
)
PROBE_LONGEST_GAP = _m(
    "probe_longest_inter_chunk_gap_seconds",
    "gauge",
    "Streaming: the longest gap between content chunks in the last probe that had two.",
)
PROBE_BUFFERED = _m(
    "probe_stream_buffered",
    "gauge",
    "Streaming: 1 if the last probe's content arrived in one burst (a buffering proxy?).",
)
PROBE_TOKENS = _m(
    "probe_tokens",
    "counter",
    "Tokens by type; source is usage (reported) or chunks (output counted from the stream).",
)
PROBE_COST = _m("probe_cost_usd", "counter", "Cost of the probes in USD, from price and usage.")
PROBE_BUDGET_REMAINING = _m(
    "probe_budget_remaining",
    "gauge",
    "What a target's probes may still spend today (UTC), by unit; 0 means they are paused.",
)
PROBE_STATUS = _m("probe_http_status_code", "gauge", "HTTP status of the last probe.")
PROBE_LAST_RUN = _m("probe_last_run_timestamp_seconds", "gauge", "When the last probe finished.")
PROBES_SKIPPED = _m(
    "probes_skipped", "counter", "Probes not started because the previous one still ran."
)
RATELIMIT_REMAINING = _m(
    "ratelimit_remaining", "gauge", "Rate-limit headroom from the *-ratelimit-*-remaining headers."
)
RATELIMIT_RESET = _m(
    "ratelimit_reset_seconds",
    "gauge",
    "Seconds from the newest answer that said so until the rate limit is full again.",
)
RATELIMIT_RETRY_AFTER = _m(
    "ratelimit_retry_after_seconds",
    "gauge",
    "The retry-after of the last probe that got an answer; 0 when it had none.",
)
TARGET_INFO = _m("target_info", "gauge", "What the endpoint says it runs; 1 per target.")
LABEL_OVERFLOW = _m(
    "label_values_overflow", "counter", "Label values folded into 'other' to keep series bounded."
)

# Rules
ALERTS = _m("alerts", "gauge", "Active alerts, like Prometheus' ALERTS.")
RULE_EVAL_DURATION = _m(
    "rule_evaluation_duration_seconds", "histogram", "Time to evaluate a rule group."
)
RULE_EVAL_FAILURES = _m("rule_evaluation_failures", "counter", "Failed rule evaluations.")

# The local sample store
LOCAL_STORE_SERIES = _m("local_store_series", "gauge", "Series in the local sample store.")
LOCAL_STORE_CHUNK_BYTES = _m(
    "local_store_chunk_bytes",
    "gauge",
    "Bytes of the local sample store's full chunks: in files, or held in memory (not yet "
    "written, or refused by the disk).",
)

# Incidents and notifications
INCIDENTS = _m("incidents", "gauge", "Open incidents by state.")
INCIDENTS_OPENED = _m("incidents_opened", "counter", "Incidents opened, by severity.")
TIME_TO_ACK = _m(
    "incident_time_to_acknowledge_seconds", "histogram", "From incident start to acknowledgement."
)
TIME_TO_RESOLVE = _m(
    "incident_time_to_resolve_seconds", "histogram", "From incident start to resolution."
)
NOTIFICATIONS = _m("notifications", "counter", "Notification deliveries, by route and result.")
NOTIFICATION_QUEUE = _m("notification_queue_length", "gauge", "Durable outbox backlog.")
NOTIFICATION_LATENCY = _m(
    "notification_latency_seconds", "histogram", "From incident event to successful delivery."
)

# Experiments
EXPERIMENT_SAMPLES = _m("experiment_samples", "gauge", "Samples per experiment arm and metric.")
EXPERIMENT_SAMPLES_NEEDED = _m(
    "experiment_samples_needed",
    "gauge",
    "Samples per arm still needed to detect the minimum effect (0 once reached).",
)
EXPERIMENT_LIFT = _m("experiment_relative_lift", "gauge", "Lift vs control.")
EXPERIMENT_LIFT_LOWER = _m("experiment_lift_ci_lower", "gauge", "Lower end of the lift's interval.")
EXPERIMENT_LIFT_UPPER = _m("experiment_lift_ci_upper", "gauge", "Upper end of the lift's interval.")
EXPERIMENT_P_VALUE = _m("experiment_p_value", "gauge", "p-value of the difference vs control.")
EXPERIMENT_CHANCE_TO_WIN = _m(
    "experiment_chance_to_win", "gauge", "Bayesian chance that the variant beats control."
)
EXPERIMENT_SRM_P_VALUE = _m("experiment_srm_p_value", "gauge", "Sample ratio mismatch p-value.")
EXPERIMENT_GUARD = _m(
    "experiment_guard",
    "gauge",
    "1 for each arm and metric whose comparison is guarded; the guard label says why.",
)

# Self
CONFIG_RELOAD_OK = _m(
    "config_last_reload_successful",
    "gauge",
    "Whether the last configuration reload attempt was successful.",
)
CONFIG_RELOAD_TS = _m(
    "config_last_reload_success_timestamp_seconds",
    "gauge",
    "Timestamp of the last successful configuration reload.",
)
BUILD_INFO = _m("build_info", "gauge", "aiwatch version and the Python it runs on; always 1.")
