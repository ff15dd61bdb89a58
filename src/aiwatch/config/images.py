"""The image files prompts name, read, checked and encoded once when the config is loaded."""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiwatch.config.imagefile import NotAnImage, image_info
from aiwatch.config.prompts import Image, ImagePrompt, Prompt
from aiwatch.config.yamlpos import Path

MAX_IMAGE_BYTES = 5 * 1024 * 1024
"""The largest image a prompt may carry: the smallest of the APIs' own limits (Anthropic's)."""
MAX_FOLDER_IMAGES = 100
DEFAULT_FOLDER_TEXT = "Describe this image."
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
"""The files of a prompt folder that are its images; a ``.txt`` of the same stem is the text."""

Add = Callable[[Path, str], None]


@dataclass(frozen=True)
class PromptFiles:
    """The images and folders the prompts of a config name, as they were found on disk."""

    images: dict[str, Image] = field(default_factory=dict)
    folders: dict[str, tuple[tuple[str, str | None], ...]] = field(default_factory=dict)
    """A folder's images in name order, each with its sidecar text if it has one."""

    def expand(self, value: Any) -> tuple[Prompt, ...]:
        """The prompts one item of ``prompts:`` stands for: a folder is one per image, in name
        order; images that could not be read (already reported) are left out."""
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, dict | list):  # an invalid item, already reported
            return ()
        if isinstance(value, list):
            return (tuple(dict(m) for m in value),)
        if "folder" in value:
            text = value.get("text", DEFAULT_FOLDER_TEXT)
            return tuple(
                ImagePrompt(sidecar or text, (self.images[name],))
                for name, sidecar in self.folders.get(value["folder"], ())
                if name in self.images
            )
        found = tuple(self.images[n] for n in value["images"] if n in self.images)
        return (ImagePrompt(value["text"], found),)


def load_prompt_files(doc: Any, base_dir: str, add: Add) -> PromptFiles:
    """Read every image and folder the prompts of ``doc`` name; ``add`` gets each problem."""
    loader = _Loader(base_dir, add)
    for path, item in _prompt_items(doc):
        if isinstance(item.get("folder"), str):
            loader.folder(item["folder"], (*path, "folder"))
        for j, name in enumerate(item.get("images") or ()):
            if isinstance(name, str):
                loader.image(name, (*path, "images", j))
    return loader.files


def _prompt_items(doc: Any) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every mapping item of a ``prompts:`` list: the targets' and the prompt sets'."""
    lists: list[tuple[Path, Any]] = []
    targets = doc.get("targets") if isinstance(doc, dict) else None
    for i, target in enumerate(targets if isinstance(targets, list) else ()):
        if isinstance(target, dict):
            lists.append((("targets", i, "prompts"), target.get("prompts")))
    validation = doc.get("validation") if isinstance(doc, dict) else None
    sets = validation.get("prompt_sets") if isinstance(validation, dict) else None
    for name, prompts in sets.items() if isinstance(sets, dict) else ():
        lists.append((("validation", "prompt_sets", name), prompts))
    for path, prompts in lists:
        for j, item in enumerate(prompts if isinstance(prompts, list) else ()):
            if isinstance(item, dict):
                yield (*path, j), item


class _Loader:
    """Reads each file once, however many prompts name it, with a problem at each place."""

    def __init__(self, base: str, add: Add) -> None:
        self.base, self.add = base, add
        self.files = PromptFiles()
        self.cache: dict[str, Image | str] = {}

    def image(self, name: str, at: Path) -> None:
        full = os.path.normpath(os.path.join(self.base, name))
        if full not in self.cache:
            self.cache[full] = _read(name, full)
        found = self.cache[full]
        if isinstance(found, str):
            self.add(at, found)
        else:
            self.files.images[name] = found

    def folder(self, folder: str, at: Path) -> None:
        """A prompt folder: its images, each with the text of its ``.txt`` sidecar if any."""
        full = os.path.join(self.base, folder)
        try:
            names = sorted(os.listdir(full))
        except OSError as err:
            self.add(at, f"cannot read prompt folder {folder!r}: {err.strerror}")
            return
        images = [n for n in names if n.lower().endswith(IMAGE_SUFFIXES)]
        if not images:
            self.add(at, f"prompt folder {folder!r} has no images ({', '.join(IMAGE_SUFFIXES)})")
            return
        if len(images) > MAX_FOLDER_IMAGES:
            message = f"prompt folder {folder!r} has {len(images)} images; at most "
            self.add(at, message + str(MAX_FOLDER_IMAGES))
            return
        entries = []
        for image in images:
            name = os.path.join(folder, image)
            self.image(name, at)
            sidecar = os.path.join(full, os.path.splitext(image)[0] + ".txt")
            entries.append((name, _sidecar(sidecar)))
        self.files.folders[folder] = tuple(entries)


def _read(name: str, full: str) -> Image | str:
    """The image, or what is wrong with it."""
    try:
        size = os.path.getsize(full)
        if size > MAX_IMAGE_BYTES:
            return (
                f"image {name!r} is {size / 2**20:.1f} MiB; "
                f"an image may be at most {MAX_IMAGE_BYTES // 2**20} MiB"
            )
        with open(full, "rb") as fh:
            data = fh.read(MAX_IMAGE_BYTES + 1)
    except OSError as err:
        return f"cannot read image {name!r}: {err.strerror}"
    try:
        info = image_info(data)
    except NotAnImage as err:
        return f"image {name!r} is {err} (PNG, JPEG and WebP are supported)"
    return Image(name, info.media_type, data, info.width, info.height)


def _sidecar(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None
