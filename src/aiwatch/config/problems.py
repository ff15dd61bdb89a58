"""A problem in a YAML file (a config or a rule file), located at a node: ``file:line:col``."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file, located at a YAML node."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.path}: {self.message}"
