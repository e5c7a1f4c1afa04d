"""Image loading: every accepted mode becomes (H, W) uint8; everything else names the file."""

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import gray, save
from PIL import Image

from ctprints.io import FolderError, ImageError, atomic_output, read_image, scan_folder


@pytest.mark.parametrize("mode", ["L", "P", "RGB", "RGBA"])
def test_grayscale_modes_load_as_identical_uint8(tmp_path: Path, mode: str) -> None:
    pixels = gray(24, seed=3)
    loaded = read_image(save(tmp_path / f"slice_{mode}.png", pixels, mode))
    assert loaded.dtype == np.uint8
    assert loaded.shape == (24, 24)
    np.testing.assert_array_equal(loaded, pixels)


def test_palette_with_colour_entries_is_rejected_as_colour(tmp_path: Path) -> None:
    rgb = np.zeros((8, 8, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # pure red palette entry
    path = tmp_path / "colourmap.png"
    Image.fromarray(rgb).convert("P").save(path)
    with pytest.raises(ImageError, match="real colour") as error:
        read_image(path)
    assert str(path) in str(error.value)


def test_rgb_colour_image_raises_naming_file_and_mode(tmp_path: Path) -> None:
    rgb = np.stack([gray(8, 1), gray(8, 2), gray(8, 3)], axis=2)
    path = tmp_path / "colour.png"
    Image.fromarray(rgb).save(path)
    with pytest.raises(ImageError) as error:
        read_image(path)
    assert str(path) in str(error.value)
    assert "RGB" in str(error.value) and "real colour" in str(error.value)


def test_16_bit_image_raises_naming_file_and_mode(tmp_path: Path) -> None:
    path = save(tmp_path / "deep.png", gray(8), "I;16")
    with pytest.raises(ImageError) as error:
        read_image(path)
    assert str(path) in str(error.value)
    assert "16-bit" in str(error.value)


def test_truncated_png_raises_naming_file(tmp_path: Path) -> None:
    path = save(tmp_path / "whole.png", gray(64, 5))
    data = path.read_bytes()
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt") as error:
        read_image(truncated)
    assert str(truncated) in str(error.value)


def test_zero_byte_file_raises_naming_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="empty file") as error:
        read_image(path)
    assert str(path) in str(error.value)


def test_jpeg_with_png_name_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "disguised.png"
    Image.fromarray(gray(16)).save(path, format="JPEG")
    with pytest.raises(ImageError, match="not a PNG file .*JPEG"):
        read_image(path)


def test_scan_skips_ds_store_and_counts_it(tmp_path: Path) -> None:
    save(tmp_path / "a.png", gray(8))
    save(tmp_path / "B.PNG", gray(8))
    (tmp_path / ".DS_Store").write_bytes(b"\x00Bud1")
    (tmp_path / "._a.png").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    (tmp_path / "notes").mkdir()
    scan = scan_folder(tmp_path)
    assert [p.name for p in scan.images] == ["B.PNG", "a.png"]
    assert sorted(p.name for p in scan.skipped) == [".DS_Store", "._a.png", "notes"]


def test_scan_of_folder_without_images_names_folder(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("nothing here")
    with pytest.raises(FolderError, match="no PNG images") as error:
        scan_folder(tmp_path)
    assert str(tmp_path) in str(error.value)


def test_atomic_output_leaves_nothing_when_the_block_fails(tmp_path: Path) -> None:
    target = tmp_path / "out" / "manifest.parquet"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("boom")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_png_cut_inside_its_header_is_reported_as_truncated(tmp_path: Path) -> None:
    path = save(tmp_path / "whole.png", gray(16))
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(ImageError, match="truncated or corrupt PNG"):
        read_image(path)


def test_text_file_with_png_name_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(ImageError, match="not a PNG file"):
        read_image(path)


@pytest.mark.parametrize("mode", ["RGB", "LA"])
def test_16_bit_colour_and_gray_alpha_pngs_are_rejected(tmp_path: Path, mode: str) -> None:
    # Pillow opens these as 8-bit RGB/LA; the header's bit depth must still reject them.
    path = save(tmp_path / "deep.png", gray(8))
    data = bytearray(path.read_bytes())
    assert data[12:16] == b"IHDR"
    data[24] = 16  # claim 16-bit; the CRC no longer matches either, but depth is checked first
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match="16-bit PNG") as error:
        read_image(path)
    assert str(path) in str(error.value)


def test_png_missing_its_last_bytes_is_rejected(tmp_path: Path) -> None:
    path = save(tmp_path / "whole.png", gray(64, 7))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ImageError, match="truncated or corrupt"):
        read_image(path)


def test_png_with_flipped_data_checksum_is_rejected(tmp_path: Path) -> None:
    path = save(tmp_path / "whole.png", gray(32, 8))
    data = bytearray(path.read_bytes())
    idat = data.index(b"IDAT")
    length = int.from_bytes(data[idat - 4 : idat], "big")
    data[idat + 4 + length] ^= 0xFF  # first CRC byte of the IDAT chunk
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match="truncated or corrupt"):
        read_image(path)


def test_absurd_header_size_is_reported_with_the_file(tmp_path: Path) -> None:
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk
    data += struct.pack(">I", zlib.crc32(chunk)) + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    with pytest.raises(ImageError) as error:
        read_image(path)
    assert str(path) in str(error.value)


def test_gray_alpha_png_loads_its_gray_channel(tmp_path: Path) -> None:
    pixels = gray(8, 4)
    path = tmp_path / "la.png"
    Image.fromarray(np.stack([pixels, np.full_like(pixels, 255)], axis=2), mode="LA").save(path)
    np.testing.assert_array_equal(read_image(path), pixels)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_output_honours_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    # mkstemp would make every output 0600 whatever the umask: unreadable by collaborators.
    target = tmp_path / "out" / "run.csv"
    previous = os.umask(umask)
    try:
        with atomic_output(target) as temporary:
            temporary.write_text("a,1\n")
        plain = tmp_path / "plain.csv"
        plain.write_text("a,1\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert [p.name for p in target.parent.iterdir()] == ["run.csv"]


def test_atomic_output_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "run.csv"
    target.write_text("old\n")
    with atomic_output(target) as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".run.csv.")
        assert temporary.read_text() == ""
        temporary.write_text("new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.csv"]


def test_symlink_loop_is_named_when_read(tmp_path: Path) -> None:
    (tmp_path / "loopa.png").symlink_to("loopb.png")
    (tmp_path / "loopb.png").symlink_to("loopa.png")
    with pytest.raises(ImageError, match=r"loopa\.png: symlink loop"):
        read_image(tmp_path / "loopa.png")


def test_broken_link_names_its_missing_target(tmp_path: Path) -> None:
    (tmp_path / "gone.png").symlink_to(tmp_path / "elsewhere.png")
    with pytest.raises(ImageError, match=r"gone\.png: broken link \(its target .*elsewhere\.png"):
        read_image(tmp_path / "gone.png")


def test_scan_lists_looping_png_links_and_skips_other_looping_entries(tmp_path: Path) -> None:
    save(tmp_path / "a.png", gray(8))
    (tmp_path / "loopa").symlink_to("loopb")
    (tmp_path / "loopb").symlink_to("loopa")
    (tmp_path / "self.png").symlink_to("self.png")
    (tmp_path / "gone.png").symlink_to("nowhere.png")
    scan = scan_folder(tmp_path)
    # The .png links are images that cannot be read: reading them names each file.
    assert [p.name for p in scan.images] == ["a.png", "gone.png", "self.png"]
    assert sorted(p.name for p in scan.skipped) == ["loopa", "loopb"]


def test_message_of_a_name_with_a_line_break_stays_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "two\nlines.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError) as error:
        read_image(path)
    assert "\n" not in str(error.value)
    assert "two\\nlines.png" in str(error.value)


# A writer that is killed (kill -9, a power cut) runs no cleanup: only the rename publishes.
KILLED_WRITER = """
import sys, time
from ctprints.io import atomic_output
with atomic_output(sys.argv[1]) as temporary:
    with open(temporary, "w") as handle:
        handle.write("half of the new ")
        handle.flush()
        print("written", flush=True)
        time.sleep(60)
"""


@pytest.mark.parametrize("before", [None, "old,1\n"], ids=["new", "replaced"])
def test_a_writer_killed_mid_write_leaves_the_old_output_or_none(tmp_path: Path, before) -> None:
    target = tmp_path / "out" / "run.csv"
    if before is not None:
        target.parent.mkdir()
        target.write_text(before)
    src = Path(__file__).resolve().parents[1] / "src"
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(target)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(src)},
    )
    try:
        assert writer.stdout.readline().strip() == "written"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    if before is None:
        assert not target.exists()
    else:
        assert target.read_text() == before
    # What the killed writer left is a hidden temporary beside the output, never the output.
    (left,) = [p for p in target.parent.iterdir() if p != target]
    assert left.name.startswith(".run.csv.") and left.name.endswith(".tmp")
    assert left.read_text() == "half of the new "
