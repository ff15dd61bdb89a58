"""The config file: schema, loading with file:line:col errors, and the parsed model."""

from aiwatch.config.load import ConfigError, load_config, parse_config, schema
from aiwatch.config.model import Config, Secret, Target
from aiwatch.config.problems import Problem

__all__ = [
    "Config",
    "ConfigError",
    "Problem",
    "Secret",
    "Target",
    "load_config",
    "parse_config",
    "schema",
]
