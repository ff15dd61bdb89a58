"""The config file: schema, loading with file:line:col errors, and the parsed model."""

from aiwatch.config.load import check_config, load_config, parse_config, schema
from aiwatch.config.model import Config, Secret, Target
from aiwatch.config.problems import ConfigError, Problem

__all__ = [
    "Config",
    "ConfigError",
    "Problem",
    "Secret",
    "Target",
    "check_config",
    "load_config",
    "parse_config",
    "schema",
]
