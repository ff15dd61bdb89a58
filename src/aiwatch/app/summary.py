"""The start-up summary: one log line of what this daemon will do, read from its config."""

import logging
import os
from collections import Counter

from aiwatch.config import Config
from aiwatch.runtime import Options

log = logging.getLogger("aiwatch.daemon")


def log_summary(config: Config, options: Options) -> None:
    """Log the config file, targets by kind, routes, experiments, storage, web and shard."""
    kinds = Counter(t.kind for t in config.targets)
    index, count = options.shard
    log.info(
        "Loaded configuration",
        extra={
            "file": os.path.abspath(options.config_file),
            "targets": len(config.targets),
            "targets_by_kind": ",".join(f"{k}={n}" for k, n in sorted(kinds.items())) or "none",
            "rule_files": len(config.rule_files),
            "routes": len(config.notifications.routes),
            "alertmanagers": len(config.alertmanager.forward_to),
            "experiments": len(config.experiments),
            "storage": os.path.abspath(options.storage_path),
            "listen_address": options.listen_address,
            "web_config": "on" if options.web_config_file else "off",
            "shard": f"{index}/{count}",
        },
    )
