"""Reading CT slices from disk as single-channel uint8 arrays, and scanning image folders.

Every image in the workflow enters through :func:`read_image`, so the image rules of docs/data.md
live here: grayscale (``L``) and grayscale-palette (``P``) PNGs are accepted, as are RGB/RGBA
files whose three colour channels are identical; 16-bit, real colour, truncated and non-PNG files
raise an :class:`ImageError` that names the file.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ctprints.errors import FolderError, ImageError

IMAGE_SUFFIX = ".png"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Modes that carry more than 8 bits per sample; the challenge data is 8-bit, so these are errors
# rather than something to rescale silently (a rescale would change every fingerprint).
_HIGH_DEPTH_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}


def _gray_from_colour_channels(rgb: np.ndarray, path: Path, mode: str) -> np.ndarray:
    """Return the single channel of an (H, W, 3) array whose channels are identical, else raise."""
    if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
        differing = int(
            np.count_nonzero((rgb[..., 0] != rgb[..., 1]) | (rgb[..., 0] != rgb[..., 2]))
        )
        raise ImageError(
            path,
            f"real colour image (mode {mode}, R, G and B differ in {differing} pixel(s)); "
            "expected a grayscale CT slice",
        )
    return np.ascontiguousarray(rgb[..., 0])


def _describe_non_png(data: bytes) -> str:
    """Name the format of non-PNG bytes for an error message (JPEG, GIF, ...) if Pillow can."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return f"{image.format} data"
    except Exception:  # noqa: BLE001 - only used to word the message
        return "unrecognised content"


def decode_png(data: bytes, path: str | os.PathLike) -> np.ndarray:
    """Decode PNG bytes to an (H, W) uint8 array; ``path`` is only used in error messages.

    Accepted: mode ``L``; ``LA`` (alpha ignored); mode ``P`` whose palette entries in use are gray;
    ``RGB`` and ``RGBA`` with identical colour channels (alpha ignored). Raises
    :class:`ImageError` naming the file for an empty file, a non-PNG file, a truncated file or one
    with a bad checksum, 16-bit or wider samples, bilevel images and real colour.
    """
    path = Path(path)
    if not data:
        raise ImageError(path, "empty file (0 bytes); expected a PNG")
    if not data.startswith(PNG_SIGNATURE):
        raise ImageError(path, f"not a PNG file (content is {_describe_non_png(data)})")
    # The IHDR chunk follows the signature: bit depth at byte 24. Pillow would quietly reduce
    # 16-bit RGB or gray+alpha to 8 bits, so the depth is checked here, from the header.
    if len(data) >= 26 and data[12:16] == b"IHDR" and data[24] == 16:
        raise ImageError(path, "16-bit PNG (bit depth 16); expected 8-bit grayscale")
    try:
        # verify() walks every chunk and checks its CRC, which decoding alone does not: a file
        # missing its last bytes, or with a flipped checksum, still decodes to plausible pixels.
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
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
    except Exception as error:  # noqa: BLE001 - any decoder failure means the file is unusable
        # Pillow reports damage as OSError, SyntaxError, ValueError, EOFError, zlib errors or a
        # DecompressionBombError for absurd header sizes; all mean the same thing to a user.
        raise ImageError(
            path, f"truncated or corrupt PNG ({type(error).__name__}: {error})"
        ) from None


def inspect_image(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    """Read a file once: return its decoded (H, W) uint8 pixels and the SHA-256 of its bytes."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if path.is_symlink():
            problem = f"broken link (its target {os.readlink(path)} is missing)"
        else:
            problem = "file does not exist"
        raise ImageError(path, problem) from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ImageError(path, "symlink loop (too many levels of symbolic links)") from None
        raise ImageError(path, f"cannot be read ({error.strerror})") from None
    return decode_png(data, path), hashlib.sha256(data).hexdigest()


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read one PNG as an (H, W) uint8 array (see :func:`decode_png` for what is accepted)."""
    return inspect_image(path)[0]


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


def is_dangling_link(path: Path) -> bool:
    """True for a symbolic link that leads nowhere: its target is missing, or the links loop."""
    return path.is_symlink() and not path.exists()


def scan_folder(folder: str | os.PathLike) -> FolderScan:
    """List the images directly inside ``folder``; other entries are returned as skipped.

    A ``*.png`` link that leads nowhere (a broken link or a symlink loop) is listed as an image,
    so that reading it names the file and the problem beside every other bad file; any other
    entry that is not a regular file, looping links included, is skipped. Raises
    :class:`FolderError` when the folder is missing, is not a folder, or holds no PNG.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FolderError(f"{folder}: folder does not exist")
    if not folder.is_dir():
        raise FolderError(f"{folder}: not a folder")
    images, skipped = [], []
    for entry in sorted(folder.iterdir()):
        if is_candidate_image(entry) and (entry.is_file() or is_dangling_link(entry)):
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


_CREATE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def _create_temporary(path: Path) -> Path:
    """Create a new, empty, uniquely named file beside ``path``, with mode 0666 less the umask.

    Like :func:`tempfile.mkstemp` (exclusive creation, links not followed), except for the mode:
    the kernel applies the umask at creation, so it is never read or changed here (reading it
    with ``os.umask`` would briefly change it for every thread of the process).
    """
    for _ in range(100):
        candidate = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            os.close(os.open(candidate, _CREATE_FLAGS, 0o666))
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", str(path.parent))


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    A failed step therefore never leaves a partial or stale-looking output file behind. The
    output gets the permissions of any other new file (0666 less the umask, and a default ACL
    where the folder has one), not mkstemp's 0600: on a shared file system, collaborators must
    be able to read the run files.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _create_temporary(path)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
