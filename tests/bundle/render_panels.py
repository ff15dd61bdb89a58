"""Render dashboard panels to PNG from a real run: ``python -m tests.bundle.render_panels DIR``.

Starts the end-to-end stack (mock-ai, ``aiwatch run``, Prometheus), lets it probe for a
while, makes model ``mock-gpt`` answer 500s for a spell, then draws the panels below with
matplotlib from Prometheus' ``/api/v1/query_range`` — the data Grafana would show.
"""

import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

from tests.bundle.grafana import BUILTINS, load_dashboards, panels, substitute
from tests.bundle.stack import Stack, http_json, running_stack, wait_for

# (dashboard file, panel title, output file)
PANELS = [
    ("ai-endpoints.json", "Success ratio by target (5m)", "panel-success-ratio.png"),
    ("incidents-alerts.json", "Open incidents", "panel-open-incidents.png"),
]
HEALTHY_SECONDS = 40
DEGRADED_SECONDS = 25
RECOVERY_SECONDS = 25


def _legend(template: str, labels: dict[str, str]) -> str:
    text = template
    for key, value in labels.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _range(stack: Stack, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": 1})
    result: list[dict[str, Any]] = http_json(f"{stack.prometheus_url}/api/v1/query_range?{query}")[
        "data"
    ]["result"]
    return result


def render(stack: Stack, out: Path, start: float, end: float) -> None:
    """Draw each panel of ``PANELS`` over [start, end] into ``out``."""
    values = dict(BUILTINS) | {"feature": ".*", "target": ".*"}
    dashboards = load_dashboards()
    for file, title, name in PANELS:
        panel = next(p for p in panels(dashboards[file]) if p["title"] == title)
        unit = panel["fieldConfig"]["defaults"].get("unit", "")
        fig, ax = plt.subplots(figsize=(9, 3.6), dpi=110)
        for target in panel["targets"]:
            for series in _range(stack, substitute(target["expr"], values), start, end):
                xs = [float(t) - start for t, _ in series["values"]]
                ys = [float(v) for _, v in series["values"]]
                label = _legend(target.get("legendFormat", ""), series["metric"])
                ax.plot(xs, ys, label=label, linewidth=1.4)
        ax.set_xlim(0, end - start)
        ax.axvspan(HEALTHY_SECONDS, HEALTHY_SECONDS + DEGRADED_SECONDS, color="red", alpha=0.08)
        ax.set_title(f"{dashboards[file]['title']} — {title}", fontsize=10)
        ax.set_xlabel("seconds (red: model mock-gpt answers HTTP 500)")
        ax.set_ylabel({"s": "seconds", "percentunit": "ratio", "reqps": "per second"}.get(unit, ""))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
        fig.tight_layout()
        fig.savefig(out / name)
        plt.close(fig)
        print(f"wrote {out / name}")


def main(argv: list[str]) -> int:
    """Run the scenario and write the PNGs into the folder given as the only argument."""
    out = Path(argv[0]) if argv else Path("docs/img")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir, running_stack(Path(workdir)) as stack:
        wait_for(lambda: stack.query("aiwatch_probe_success"), timeout=30)
        start = time.time()
        time.sleep(HEALTHY_SECONDS)
        body = {"status": 500}
        http_json(f"{stack.mock_url}/_mock/behavior?model=mock-gpt", method="POST", body=body)
        time.sleep(DEGRADED_SECONDS)
        http_json(f"{stack.mock_url}/_mock/behavior?model=mock-gpt", method="POST", body={})
        time.sleep(RECOVERY_SECONDS)
        render(stack, out, start, time.time())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
