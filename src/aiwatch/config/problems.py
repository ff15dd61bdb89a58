"""What is wrong with a config file (or worth a warning), located at a YAML node."""

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


class ConfigError(Exception):
    """A config file with problems; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems
