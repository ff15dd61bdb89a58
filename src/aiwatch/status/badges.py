"""Shields-style SVG badges: a grey label and a coloured value, with an accessible title."""

from xml.sax.saxutils import escape

COLOURS = {
    "up": "#2e7d32",
    "degraded": "#b26a00",
    "down": "#c62828",
    "unknown": "#616161",
}
"""Dark enough for white text at WCAG AA contrast."""


def _width(text: str) -> int:
    # About 6.5 px a character at 11 px Verdana, plus padding: close to what shields draws.
    return int(len(text) * 6.5) + 12


def badge(label: str, value: str, colour: str) -> str:
    """An SVG badge reading ``label | value``, ``value`` on ``colour``."""
    left, right = _width(label), _width(value)
    total = left + right
    title = escape(f"{label}: {value}")
    label_x, value_x = left * 5, (left + right / 2) * 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{title}">'
        f"<title>{title}</title>"
        f'<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        f'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        f'font-size="110" transform="scale(.1)">'
        f'<text x="{label_x}" y="140">{escape(label)}</text>'
        f'<text x="{value_x:.0f}" y="140">{escape(value)}</text></g></svg>'
    )


def status_badge(target: str, state: str) -> str:
    """``TARGET | up`` in the state's colour."""
    return badge(target, state, COLOURS.get(state, COLOURS["unknown"]))


def uptime_badge(target: str, window: str, value: float | None, text: str) -> str:
    """``TARGET uptime 30d | 99.95%``: green from 99.9 %, amber from 99 %, else red."""
    if value is None:
        colour = COLOURS["unknown"]
    elif value >= 0.999:
        colour = COLOURS["up"]
    elif value >= 0.99:
        colour = COLOURS["degraded"]
    else:
        colour = COLOURS["down"]
    return badge(f"{target} uptime {window}", text, colour)
