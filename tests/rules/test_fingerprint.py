"""Fingerprints are Prometheus' label hash: XXH64 over the sorted label pairs."""

from aiwatch.rules.fingerprint import fingerprint, xxh64


def test_xxh64_reference_vectors() -> None:
    """The published XXH64 values for short inputs."""
    assert xxh64(b"") == 0xEF46DB3751D8E999
    assert xxh64(b"a") == 0xD24EC4F1A98C6E5B
    assert xxh64(b"abc") == 0x44BC2CF5AD770999


def test_fingerprint_ignores_label_order() -> None:
    """The same label set in any order has one fingerprint; another set has another."""
    one = fingerprint([("b", "2"), ("a", "1")])
    assert one == fingerprint([("a", "1"), ("b", "2")])
    assert one != fingerprint([("a", "1"), ("b", "3")])
    assert len(one) == 16
