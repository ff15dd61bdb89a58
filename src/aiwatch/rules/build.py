"""Build the rule manager the daemon runs, from the loaded configuration."""

import os

import aiohttp

from aiwatch.clock import Clock
from aiwatch.config.model import Config
from aiwatch.promql.runner import QueryRunner
from aiwatch.promql.storage import MemoryStorage
from aiwatch.rules.events import AlertSink
from aiwatch.rules.files import load_groups
from aiwatch.rules.manager import EvaluationObserver, ManagerOptions, RuleManager
from aiwatch.rules.query import DatasourceQuery, LocalQuery
from aiwatch.rules.templates import TemplateQuery
from aiwatch.rules.types import QueryFunc


def rule_base_dir(config: Config) -> str:
    """Where relative ``rule_files`` globs start: the config file's directory."""
    return os.path.dirname(os.path.abspath(config.path)) if config.path else "."


def manager_options(config: Config) -> ManagerOptions:
    """The manager settings that come from the config's ``global`` section."""
    return ManagerOptions(
        evaluation_interval_s=config.global_.evaluation_interval,
        external_labels=dict(config.global_.external_labels),
        external_url=config.external_url,
    )


def build_manager(
    config: Config,
    *,
    storage: MemoryStorage,
    session: aiohttp.ClientSession | None,
    sink: AlertSink | None,
    state_dir: str | None,
    clock: Clock | None = None,
    on_evaluated: EvaluationObserver | None = None,
    runner: QueryRunner | None = None,
) -> RuleManager:
    """A manager for ``config``'s rule files; ``RuleFileError`` if any file is invalid.

    Expressions go to ``datasource.url`` when configured (``session`` is then required),
    else to ``storage``. Rule results (recorded series, ``ALERTS``) are written to
    ``storage`` in both modes. With a ``runner`` local expressions are evaluated in its
    worker threads, within its limits.
    """
    specs = load_groups(config.rule_files, base_dir=rule_base_dir(config))
    interval_s = config.global_.evaluation_interval
    options = manager_options(config)
    local = LocalQuery(storage, subquery_step_ms=round(interval_s * 1000), runner=runner)
    query: QueryFunc = local
    template_query: TemplateQuery | None = local.for_templates
    if config.datasource is not None:
        if session is None:
            msg = "datasource.url needs an HTTP session"
            raise ValueError(msg)
        source = config.datasource
        headers = {}
        if source.bearer_token is not None:
            headers["Authorization"] = f"Bearer {source.bearer_token.reveal()}"
        auth = None
        if source.basic_auth_username is not None:
            password = source.basic_auth_password.reveal() if source.basic_auth_password else ""
            auth = aiohttp.BasicAuth(source.basic_auth_username, password)
        query = DatasourceQuery(
            session, source.url, timeout_s=source.timeout, headers=headers, auth=auth
        )
        # The template ``query`` function is synchronous: it is only offered locally.
        template_query = None
    return RuleManager(
        specs,
        query=query,
        appender=storage,
        sink=sink,
        options=options,
        clock=clock,
        state_dir=state_dir,
        template_query=template_query,
        on_evaluated=on_evaluated,
    )
