"""What the running daemon holds: the current config, its reloads, and start-up options."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

from aiwatch.config import Config, ConfigError, load_config
from aiwatch.config.model import Secret
from aiwatch.logs import SCRUBBER
from aiwatch.promql.limits import QueryLimits
from aiwatch.redaction import url_pieces, url_secrets

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
    max_connections: int = 512
    read_header_timeout: float = 10.0
    read_timeout: float = 60.0
    query_limits: QueryLimits = field(default_factory=QueryLimits)
    external_url: str = ""
    """``--web.external-url``: replaces the config's ``web.external_url`` when given."""


class ConfigState:
    """The loaded config and its reloads; components subscribe to changes with ``on_reload``."""

    def __init__(self, config: Config, options: Options) -> None:
        self.options = options
        config = self._with_options(config)
        self.current = config
        SCRUBBER.set_secrets(config_secrets(config))
        self.last_reload_successful = True
        self.last_reload_success_timestamp = time.time()
        self._hooks: list[ReloadHook] = []
        self._lock = asyncio.Lock()

    def _with_options(self, config: Config) -> Config:
        """``config`` with what command-line options replace in it."""
        if not self.options.external_url:
            return config
        return replace(config, web=replace(config.web, external_url=self.options.external_url))

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
            config = self._with_options(config)
            self.current = config
            SCRUBBER.set_secrets(config_secrets(config))
            for hook in self._hooks:
                await hook(config)
            self.last_reload_successful = True
            self.last_reload_success_timestamp = time.time()
            log.info(
                "Configuration reloaded",
                extra={"file": self.options.config_file, "targets": len(config.targets)},
            )
            return None


def config_secrets(config: Config) -> set[str]:
    """Every secret text of ``config``, for the log scrubber: each ``Secret`` (and the tokens
    in it when it is a notification URL), and the credentials of every URL."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, Secret):
            text = value.reveal()
            found.update((text, *url_secrets(text), *url_pieces(text)))
        elif isinstance(value, str):
            if "://" in value:
                found.update(url_secrets(value))
        elif is_dataclass(value) and not isinstance(value, type):
            for f in fields(value):
                if f.name != "raw":  # the document as shown, secrets already hidden
                    walk(getattr(value, f.name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(config)
    return found
