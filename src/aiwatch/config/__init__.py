"""The config file: schema, loading with file:line:col errors, and the parsed model."""

from aiwatch.config.load import ConfigError, Problem, load_config, parse_config, schema
from aiwatch.config.model import Config, Secret, Target

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
