"""Reading CT slices from disk as single-channel uint8 arrays, and scanning image folders.

Every image in the workflow enters through :func:`read_image`, so the rules in DATA.md live here:
grayscale (``L``) and grayscale-palette (``P``) PNGs are accepted, as are RGB/RGBA files whose
three colour channels are identical; 16-bit, real colour, truncated and non-PNG files raise an
:class:`ImageError` that names the file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIX = ".png"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Modes that carry more than 8 bits per sample; the challenge data is 8-bit, so these are errors
# rather than something to rescale silently (a rescale would change every fingerprint).
_HIGH_DEPTH_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}


class ImageError(ValueError):
    """An image file that cannot be used; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class FolderError(ValueError):
    """A folder that cannot be used as an image folder (missing, not a folder, or empty)."""


def _gray_from_colour_channels(rgb: np.ndarray, path: Path, mode: str) -> np.ndarray:
    """Return the single channel of an (H, W, 3) array whose channels are identical, else raise."""
    if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
        differing = int(
            np.count_nonzero((rgb[..., 0] != rgb[..., 1]) | (rgb[..., 0] != rgb[..., 2]))
        )
        raise ImageError(
            path,
            f"real colour image (mode {mode}, {differing} pixels whose R, G and B differ); "
            "expected a grayscale CT slice",
        )
    return np.ascontiguousarray(rgb[..., 0])


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read one PNG as an (H, W) uint8 array.

    Accepted: mode ``L``; mode ``P`` whose palette entries in use are gray; ``LA``; ``RGB`` and
    ``RGBA`` with identical colour channels (alpha is ignored). Raises :class:`ImageError` naming
    the file for a non-PNG file, a truncated or corrupt file, 16-bit or float data, bilevel
    images and real colour.
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            if image.format != "PNG":
                raise ImageError(
                    path, f"not a PNG file (content is {image.format or 'unknown'} data)"
                )
            image.load()
            mode = image.mode
            if mode == "L":
                return np.asarray(image, dtype=np.uint8).copy()
            if mode in _HIGH_DEPTH_MODES:
                raise ImageError(
                    path, f"unsupported mode {mode} (16-bit or wider); expected 8-bit grayscale"
                )
            if mode == "LA":
                return np.asarray(image.getchannel("L"), dtype=np.uint8).copy()
            if mode == "P":
                rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
                return _gray_from_colour_channels(rgb, path, "P with a colour palette")
            if mode in ("RGB", "RGBA"):
                rgb = np.asarray(image, dtype=np.uint8)[..., :3]
                return _gray_from_colour_channels(rgb, path, mode)
            raise ImageError(path, f"unsupported mode {mode}; expected 8-bit grayscale")
    except ImageError:
        raise
    except UnidentifiedImageError:
        with open(path, "rb") as handle:
            head = handle.read(len(PNG_SIGNATURE))
        if not head:
            raise ImageError(path, "empty file (0 bytes); expected a PNG") from None
        if head == PNG_SIGNATURE:
            raise ImageError(path, "truncated or corrupt PNG (its header cannot be read)") from None
        raise ImageError(path, "not a PNG file (unrecognised content)") from None
    except FileNotFoundError:
        raise ImageError(path, "file does not exist") from None
    except (OSError, SyntaxError, ValueError) as error:
        # Pillow reports truncation as OSError and bad chunks/CRCs as SyntaxError or ValueError.
        raise ImageError(path, f"truncated or corrupt PNG ({error})") from None


def sha256_of(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class FolderScan:
    """The PNG files of one folder, in sorted order, and what was skipped beside them."""

    folder: Path
    images: list[Path]
    skipped: list[Path] = field(default_factory=list)


def is_candidate_image(path: Path) -> bool:
    """True for a visible file named ``*.png`` (any case).

    Hidden files are skipped even with a .png name: macOS writes ``._name.png`` AppleDouble files
    beside every image on foreign file systems, and those are not images.
    """
    return path.suffix.lower() == IMAGE_SUFFIX and not path.name.startswith(".")


def scan_folder(folder: str | os.PathLike) -> FolderScan:
    """List the images directly inside ``folder``; other entries are returned as skipped.

    Raises :class:`FolderError` when the folder is missing, is not a folder, or holds no PNG.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FolderError(f"{folder}: folder does not exist")
    if not folder.is_dir():
        raise FolderError(f"{folder}: not a folder")
    images, skipped = [], []
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and is_candidate_image(entry):
            images.append(entry)
        else:
            skipped.append(entry)
    if not images:
        raise FolderError(
            f"{folder}: no PNG images in this folder ({len(skipped)} other entries skipped)"
        )
    return FolderScan(folder=folder, images=images, skipped=skipped)


def write_png(path: str | os.PathLike, pixels: np.ndarray) -> None:
    """Write an (H, W) uint8 array as an 8-bit grayscale PNG."""
    pixels = np.asarray(pixels)
    if pixels.ndim != 2 or pixels.dtype != np.uint8:
        raise ValueError(
            f"{path}: expected an (H, W) uint8 array, got {pixels.dtype} {pixels.shape}"
        )
    Image.fromarray(pixels).save(path, format="PNG")


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    A failed step therefore never leaves a partial or stale-looking output file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
