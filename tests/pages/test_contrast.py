"""The style sheet's colours pass WCAG AA contrast (4.5:1 for text) in light and dark mode."""

import re
from importlib import resources

PAIRS = [
    ("fg", "bg"), ("muted", "bg"), ("link", "bg"), ("fg", "panel"), ("muted", "panel"),
    ("link", "panel"), ("bg", "link"),  # button text on a button
    ("up", "up-bg"), ("down", "down-bg"), ("warn", "warn-bg"), ("info", "info-bg"),
    ("down", "bg"),  # problem text
]  # fmt: skip
"""(text, background) pairs the sheet uses."""


def _palettes() -> list[dict[str, str]]:
    css = resources.files("aiwatch.pages").joinpath("static", "aiwatch.css").read_text()
    blocks = re.findall(r":root\s*\{([^}]*)\}", css)
    return [dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", block)) for block in blocks]


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_light_and_dark_palettes_pass_aa() -> None:
    """Every text colour on its background is at least 4.5:1, in both schemes."""
    palettes = _palettes()
    assert len(palettes) == 2  # light, and dark under prefers-color-scheme
    for palette in palettes:
        for text, background in PAIRS:
            ratio = contrast(palette[text], palette[background])
            assert ratio >= 4.5, (text, background, round(ratio, 2))


def test_contrast_formula() -> None:
    """Black on white is 21:1; a colour on itself 1:1."""
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#777777", "#777777") == 1.0
