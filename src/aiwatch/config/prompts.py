"""What a prompt is: text, a conversation, or text with images read from files."""

import base64
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Image:
    """One image file of a prompt, read and encoded once when the config is loaded."""

    name: str
    """The file as the config names it (relative to the config file)."""
    media_type: str
    """``image/png``, ``image/jpeg`` or ``image/webp``, from the file's header."""
    data: bytes = field(repr=False)
    width: int
    height: int
    base64: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "base64", base64.b64encode(self.data).decode("ascii"))

    @property
    def data_url(self) -> str:
        """The image as a ``data:`` URL, as OpenAI's APIs take it inline."""
        return f"data:{self.media_type};base64,{self.base64}"


@dataclass(frozen=True)
class ImagePrompt:
    """A user turn of text and images, sent inline in each API's own shape."""

    text: str
    images: tuple[Image, ...]


Prompt = str | tuple[dict[str, str], ...] | ImagePrompt
"""One prompt: a user message, a list of ``{role, content}`` turns, or text with images."""
