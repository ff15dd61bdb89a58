"""Argument types of the ``aiwatch`` command line: each turns a flag's text into its value
or raises ``argparse.ArgumentTypeError`` with the message argparse prints."""

import argparse
import urllib.parse


def shard_arg(text: str) -> tuple[int, int]:
    index, sep, count = text.partition("/")
    if sep and index.isdigit() and count.isdigit() and 0 <= int(index) < int(count):
        return int(index), int(count)
    msg = f"{text!r} is not a shard (want i/n with 0 <= i < n, e.g. 0/3)"
    raise argparse.ArgumentTypeError(msg)


def positive_int_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        msg = f"{text!r} is not a whole number greater than 0"
        raise argparse.ArgumentTypeError(msg)
    return value


def seconds_arg(text: str) -> float:
    from aiwatch.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 90s, 2m)") from err


def http_url_arg(text: str) -> str:
    if text and (urllib.parse.urlsplit(text).scheme not in ("http", "https") or "//" not in text):
        msg = f"{text!r} is not an http(s) URL like https://example.com/aiwatch"
        raise argparse.ArgumentTypeError(msg)
    return text


def positive_seconds_arg(text: str) -> float:
    seconds = seconds_arg(text)
    if seconds <= 0:
        msg = f"{text!r} must be greater than 0"
        raise argparse.ArgumentTypeError(msg)
    return seconds
