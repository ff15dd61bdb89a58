"""``aiwatch --version``, ``aiwatch version`` and ``aiwatch help [COMMAND]``."""

import platform

from tests.cli import aiwatch


def test_version_flag_and_command_print_build_information() -> None:
    """Both forms print the version, the Python version and the platform, and exit 0."""
    from aiwatch import __version__

    for argv in (("--version",), ("version",)):
        result = aiwatch(*argv)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0] == f"aiwatch, version {__version__}"
        assert platform.python_version() in lines[1]
        assert lines[2].split()[0] == "platform:"


def test_help_command_prints_the_help_of_a_command() -> None:
    """``aiwatch help`` is the top-level help; ``aiwatch help check config`` is that
    command's; an unknown command is a usage error naming the known ones."""
    top = aiwatch("help")
    assert top.returncode == 0
    assert "usage: aiwatch" in top.stdout
    nested = aiwatch("help", "check", "config")
    assert nested.returncode == 0
    assert nested.stdout.startswith("usage: aiwatch check config")
    unknown = aiwatch("help", "nope")
    assert unknown.returncode == 2
    assert "no command 'nope'" in unknown.stderr
    assert "run" in unknown.stderr


def test_run_help_describes_the_command() -> None:
    """``aiwatch run --help`` says what the daemon does, not only its flags."""
    result = aiwatch("run", "--help")
    assert result.returncode == 0
    assert "probe the configured targets" in " ".join(result.stdout.split())


def test_check_config_counts_in_good_grammar(tmp_path: object) -> None:
    """One rule file pattern is ``1 rule file pattern``, not ``1 rule file patterns``."""
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    (tmp_path / "rules.yml").write_text("groups: []\n")
    config = tmp_path / "aiwatch.yml"
    config.write_text(
        "targets:\n  - {name: a, kind: http, url: 'http://127.0.0.1:1/'}\nrule_files: [rules.yml]\n"
    )
    result = aiwatch("check", "config", str(config))
    assert result.returncode == 0, result.stderr
    assert "(1 target, 1 rule file pattern, 0 experiments)" in result.stdout
