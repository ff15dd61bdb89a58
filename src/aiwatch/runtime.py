"""What the running daemon holds: the current config, its reloads, and start-up options."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiwatch.config import Config, ConfigError, load_config
from aiwatch.promql.limits import QueryLimits

log = logging.getLogger("aiwatch.config")

ReloadHook = Callable[[Config], Awaitable[None]]


@dataclass(frozen=True)
class Options:
    """Command-line options of ``aiwatch run`` that are not in the config file."""

    config_file: str = "config/aiwatch.yml"
    listen_address: str = ":9531"
    web_config_file: str | None = None
    storage_path: str = "data/"
    shard: tuple[int, int] = (0, 1)
    query_limits: QueryLimits = field(default_factory=QueryLimits)


class ConfigState:
    """The loaded config and its reloads; components subscribe to changes with ``on_reload``."""

    def __init__(self, config: Config, options: Options) -> None:
        self.current = config
        self.options = options
        self.last_reload_successful = True
        self.last_reload_success_timestamp = time.time()
        self._hooks: list[ReloadHook] = []
        self._lock = asyncio.Lock()

    def on_reload(self, hook: ReloadHook) -> None:
        """Call ``hook(new_config)`` after every successful reload, in registration order."""
        self._hooks.append(hook)

    async def reload(self) -> ConfigError | None:
        """Load the config file again; on error keep the old config and return the error."""
        async with self._lock:
            try:
                config = await asyncio.to_thread(load_config, self.options.config_file)
            except ConfigError as err:
                self.last_reload_successful = False
                for problem in err.problems:
                    log.error(
                        "Invalid config; keeping the previous one", extra={"problem": str(problem)}
                    )
                return err
            self.current = config
            for hook in self._hooks:
                await hook(config)
            self.last_reload_successful = True
            self.last_reload_success_timestamp = time.time()
            log.info(
                "Configuration reloaded",
                extra={"file": self.options.config_file, "targets": len(config.targets)},
            )
            return None
