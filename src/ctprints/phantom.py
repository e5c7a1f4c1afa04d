"""A procedural chest-CT phantom: axial slices of tuberculosis patients, in Hounsfield units.

Each phantom patient is a 3-D object: a body with a fat layer, two lungs with branching vessel
trees, the heart and aorta in the mediastinum, a vertebra, ribs, the sternum and the scanner table,
plus tuberculosis findings (nodules, cavities, consolidation, tree-in-bud clusters) that differ
from patient to patient. Slices are cut through it at adjacent positions, so neighbouring slices
of one patient change smoothly while different patients differ visibly.

Coordinates are normalised: x (patient right to left) and y (anterior to posterior) span [-1, 1]
across the field of view, which is about 400 mm; z runs along the body axis in the same unit, so a
5 mm slice spacing is 0.025. Rendering is pure numpy/scipy and therefore bit-identical for a given
seed on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

AIR, LUNG, FAT, SOFT, BLOOD, BONE, MARROW = -1000.0, -850.0, -100.0, 50.0, 40.0, 750.0, 250.0
WINDOWS = {
    # name: (level, width) in HU
    "lung": (-550.0, 1100.0),
    "mediastinal": (40.0, 400.0),
}
SLICE_SPACING = 0.025  # 5 mm in normalised units


@dataclass
class Sphere:
    centre: np.ndarray  # (3,) x, y, z
    radius: float
    hu: float


@dataclass
class Cavity:
    centre: np.ndarray
    radius: float
    wall: float


@dataclass
class Anatomy:
    """The 3-D description of one phantom patient (all lengths in normalised units)."""

    patient_id: str
    body_axes: tuple[float, float]
    body_centre_y: float
    fat: float
    lung_offset: float
    lung_axes: tuple[float, float]
    lung_tilt: float
    lung_harmonics: np.ndarray  # (2, 3, 2): per side, harmonics k=2..4, (amplitude, phase)
    heart_centre: tuple[float, float]
    heart_axes: tuple[float, float]
    heart_start: float
    rib_angles: np.ndarray
    rib_drift: float
    z_start: float
    vessels: np.ndarray  # (S, 7): x0, y0, z0, x1, y1, z1, radius
    nodules: list[Sphere] = field(default_factory=list)
    cavities: list[Cavity] = field(default_factory=list)
    consolidation: list[Sphere] = field(default_factory=list)
    texture_seed: int = 0


def _vessel_tree(rng: np.random.Generator, side: float, z_mid: float, depth: int) -> list:
    """Segments of one lung's vessel tree, branching from the hilum outwards."""
    segments = []
    stack = [(np.array([side * 0.16, 0.0, z_mid]), np.array([side, 0.0, 0.0]), 0.16, 0.022, 0)]
    while stack:
        start, direction, length, radius, level = stack.pop()
        direction = direction + rng.normal(0, 0.35, 3) * np.array([1, 1, 1.4])
        direction /= np.linalg.norm(direction) + 1e-12
        end = start + direction * length
        segments.append([*start, *end, radius])
        if level < depth:
            for _ in range(2):
                stack.append((end, direction, length * 0.72, radius * 0.7, level + 1))
    return segments


def sample_anatomy(patient_id: str, seed: int, n_slices: int) -> Anatomy:
    """Draw one patient's anatomy and findings from ``seed``; the slab spans ``n_slices`` slices."""
    rng = np.random.default_rng(seed)
    slab = n_slices * SLICE_SPACING
    z_start = 0.0
    z_mid = z_start + slab / 2
    lung_offset = rng.uniform(0.33, 0.42)
    lung_axes = (rng.uniform(0.2, 0.27), rng.uniform(0.34, 0.44))
    vessels = []
    for side in (-1.0, 1.0):
        for _ in range(3):  # several arterial/venous trunks per lung
            vessels += _vessel_tree(rng, side, z_mid + rng.uniform(-0.08, 0.08), depth=6)

    def point_in_lung() -> np.ndarray:
        side = rng.choice([-1.0, 1.0])
        angle, radius = rng.uniform(0, 2 * np.pi), np.sqrt(rng.uniform(0, 0.6))
        return np.array(
            [
                side * lung_offset + radius * lung_axes[0] * np.cos(angle),
                radius * lung_axes[1] * np.sin(angle),
                rng.uniform(z_start, z_start + slab),
            ]
        )

    # Findings: each patient gets its own mixture; a few are nearly clear.
    severity = rng.uniform(0, 1)
    nodules = [
        Sphere(point_in_lung(), rng.uniform(0.01, 0.035), rng.uniform(10, 50))
        for _ in range(rng.poisson(1 + 5 * severity))
    ]
    for _ in range(rng.poisson(1.5 * severity)):  # tree-in-bud: clusters of tiny nodules
        centre = point_in_lung()
        for _ in range(rng.integers(8, 18)):
            offset = rng.normal(0, 0.025, 3)
            nodules.append(Sphere(centre + offset, rng.uniform(0.005, 0.009), -150.0))
    cavities = [
        Cavity(point_in_lung(), rng.uniform(0.035, 0.07), rng.uniform(0.01, 0.02))
        for _ in range(rng.poisson(0.8 * severity))
    ]
    consolidation = []
    for _ in range(rng.poisson(1.2 * severity)):
        centre = point_in_lung()
        for _ in range(rng.integers(3, 7)):
            consolidation.append(
                Sphere(centre + rng.normal(0, 0.04, 3), rng.uniform(0.04, 0.09), 0.0)
            )
    return Anatomy(
        patient_id=patient_id,
        body_axes=(rng.uniform(0.74, 0.9), rng.uniform(0.5, 0.62)),
        body_centre_y=rng.uniform(-0.02, 0.06),
        fat=rng.uniform(0.03, 0.1),
        lung_offset=lung_offset,
        lung_axes=lung_axes,
        lung_tilt=rng.uniform(-0.15, 0.15),
        lung_harmonics=np.stack(
            [rng.uniform(0, 0.07, (2, 3)), rng.uniform(0, 2 * np.pi, (2, 3))], axis=-1
        ),
        heart_centre=(rng.uniform(0.02, 0.12), rng.uniform(-0.12, -0.02)),
        heart_axes=(rng.uniform(0.17, 0.23), rng.uniform(0.14, 0.19)),
        heart_start=z_start + rng.uniform(-0.1, 0.6) * slab,
        rib_angles=np.sort(rng.uniform(0, 2 * np.pi, 1) + np.linspace(0, 2 * np.pi, 15)[:-1]),
        rib_drift=rng.uniform(1.5, 3.0),
        z_start=z_start,
        vessels=np.asarray(vessels, dtype=np.float64),
        nodules=nodules,
        cavities=cavities,
        consolidation=consolidation,
        texture_seed=int(rng.integers(2**31)),
    )


def _ellipse(x, y, cx, cy, ax, ay, tilt=0.0):
    """Normalised squared radius of points in a (rotated) ellipse: < 1 inside."""
    c, s = np.cos(tilt), np.sin(tilt)
    u, v = (x - cx) * c + (y - cy) * s, -(x - cx) * s + (y - cy) * c
    return (u / ax) ** 2 + (v / ay) ** 2


def _sphere_section(x, y, z, centre, radius):
    """Mask of the cross-section of a sphere with the plane at ``z``."""
    dz2 = radius**2 - (z - centre[2]) ** 2
    if dz2 <= 0:
        return None
    return (x - centre[0]) ** 2 + (y - centre[1]) ** 2 < dz2


def _vessel_mask(x, y, z, segments: np.ndarray) -> np.ndarray:
    """Pixels within a vessel segment's radius, in the plane at ``z``."""
    mask = np.zeros(x.shape, dtype=bool)
    z_low = np.minimum(segments[:, 2], segments[:, 5]) - segments[:, 6]
    z_high = np.maximum(segments[:, 2], segments[:, 5]) + segments[:, 6]
    points = np.stack([x, y, np.full_like(x, z)], axis=-1)
    for segment in segments[(z_low <= z) & (z <= z_high)]:
        start, end, radius = segment[:3], segment[3:6], segment[6]
        delta = end - start
        t = np.clip(((points - start) @ delta) / (delta @ delta + 1e-12), 0.0, 1.0)
        nearest = start + t[..., None] * delta
        mask |= np.sum((points - nearest) ** 2, axis=-1) < radius**2
    return mask


def _texture(anatomy: Anatomy, x: np.ndarray, y: np.ndarray, z: float) -> np.ndarray:
    """Parenchymal texture with unit variance: a sum of random 3-D plane waves.

    A 3-D field, so the texture of adjacent slices is continuous, like the anatomy around it.
    """
    rng = np.random.default_rng(anatomy.texture_seed)
    waves = 48
    directions = rng.normal(size=(waves, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    vectors = directions * rng.uniform(15, 60, size=(waves, 1))  # 2.5 to 10 cycles per 100 mm
    phases = rng.uniform(0, 2 * np.pi, waves)
    field = np.zeros_like(x)
    for (kx, ky, kz), phase in zip(vectors, phases, strict=True):
        field += np.cos(kx * x + ky * y + kz * z + phase)
    return field * np.sqrt(2.0 / waves)


def render_hu(anatomy: Anatomy, z: float, size: int) -> np.ndarray:
    """Noise-free slice at body position ``z``, as a (size, size) float32 HU map.

    Structures are painted from the outside in, each over what is already there: the table and
    the chest wall, the lungs with their texture, the mediastinum, then vessels and findings.
    """
    coords = (np.arange(size) + 0.5) / size * 2 - 1
    y, x = np.meshgrid(coords, coords, indexing="ij")
    zz = z - anatomy.z_start
    hu = np.full((size, size), AIR, dtype=np.float64)
    _paint_chest_wall(hu, anatomy, x, y, zz)
    heart = _heart_mask(anatomy, x, y, z)
    lungs = _lung_mask(anatomy, x, y, zz) & ~heart & (np.abs(x) > 0.07)
    texture = _texture(anatomy, x, y, z)
    hu[lungs] = LUNG + 30 * texture[lungs]
    hu[heart] = BLOOD
    _paint_mediastinum(hu, anatomy, x, y)
    _paint_findings(hu, anatomy, x, y, z, lungs, texture)
    return hu.astype(np.float32)


def _paint_chest_wall(
    hu: np.ndarray, anatomy: Anatomy, x: np.ndarray, y: np.ndarray, zz: float
) -> None:
    """The scanner table, the body (fat over soft tissue), the ribs and the sternum."""
    ax, ay = anatomy.body_axes
    ax *= 1 + 0.03 * np.sin(6 * zz)
    cy = anatomy.body_centre_y
    # Scanner table: a curved bar below the patient's back.
    table_y = cy + ay + 0.06 + 0.08 * x**2
    hu[(y > table_y) & (y < table_y + 0.035) & (np.abs(x) < 0.95)] = 150.0
    body = _ellipse(x, y, 0, cy, ax, ay)
    hu[body < 1] = FAT
    inner = _ellipse(x, y, 0, cy, ax - anatomy.fat, ay - anatomy.fat)
    hu[inner < 1] = SOFT
    # Ribs and sternum sit in the chest wall; ribs run obliquely, so they drift around with z.
    wall_x, wall_y = ax - anatomy.fat - 0.05, ay - anatomy.fat - 0.05
    for angle in anatomy.rib_angles + anatomy.rib_drift * zz:
        if np.sin(angle) > 0.75:  # no ribs across the spine, which has its own bone
            continue
        rx, ry = cy * 0 + wall_x * np.cos(angle), cy + wall_y * np.sin(angle)
        rib = _ellipse(x, y, rx, ry, 0.045, 0.022, tilt=angle + np.pi / 2)
        hu[rib < 1] = BONE
        hu[rib < 0.35] = MARROW
    sternum = _ellipse(x, y, 0, cy - ay + anatomy.fat + 0.06, 0.05, 0.03)
    hu[sternum < 1] = BONE


def _lung_mask(anatomy: Anatomy, x: np.ndarray, y: np.ndarray, zz: float) -> np.ndarray:
    """Both lungs, before the heart and the midline are cut out; they grow towards the base."""
    cy = anatomy.body_centre_y
    scale = 0.88 + 0.5 * zz
    lungs = np.zeros(x.shape, dtype=bool)
    for index, side in enumerate((-1.0, 1.0)):
        lx = side * anatomy.lung_offset
        lung = _ellipse(
            x,
            y,
            lx,
            cy - 0.02,
            anatomy.lung_axes[0] * scale,
            anatomy.lung_axes[1] * min(scale, 1.1),
            tilt=side * anatomy.lung_tilt,
        )
        # Low-order harmonics bend the outline away from a plain ellipse, per patient.
        theta = np.arctan2(y - cy, x - lx)
        bend = 1.0 + sum(
            amplitude * np.cos(k * theta + phase + 3 * zz)
            for k, (amplitude, phase) in zip((2, 3, 4), anatomy.lung_harmonics[index], strict=True)
        )
        lungs |= lung < bend**2
    return lungs


def _heart_mask(anatomy: Anatomy, x: np.ndarray, y: np.ndarray, z: float) -> np.ndarray:
    """The heart, which appears from ``heart_start`` on and grows to full size over 0.1."""
    heart_growth = np.clip((z - anatomy.heart_start) / 0.1, 0, 1) ** 0.5
    if not heart_growth > 0:
        return np.zeros(x.shape, dtype=bool)
    hx, hy = anatomy.heart_centre
    return (
        _ellipse(
            x,
            y,
            hx,
            anatomy.body_centre_y + hy,
            anatomy.heart_axes[0] * heart_growth,
            anatomy.heart_axes[1] * heart_growth,
            0.4,
        )
        < 1
    )


def _paint_mediastinum(hu: np.ndarray, anatomy: Anatomy, x: np.ndarray, y: np.ndarray) -> None:
    """The aorta and, behind it, the vertebra around the spinal canal."""
    cy, ay = anatomy.body_centre_y, anatomy.body_axes[1]
    aorta = _ellipse(x, y, 0.1, cy + ay * 0.45, 0.07, 0.07) < 1
    hu[aorta] = BLOOD + 5
    spine_y = cy + ay * 0.72
    vertebra = _ellipse(x, y, 0, spine_y, 0.11, 0.09)
    hu[vertebra < 1] = BONE
    hu[vertebra < 0.6] = MARROW
    canal = _ellipse(x, y, 0, spine_y + 0.13, 0.045, 0.04)
    hu[(canal < 1.9) & (canal >= 1) & (y > spine_y)] = BONE
    hu[canal < 1] = 20.0


def _paint_findings(
    hu: np.ndarray,
    anatomy: Anatomy,
    x: np.ndarray,
    y: np.ndarray,
    z: float,
    lungs: np.ndarray,
    texture: np.ndarray,
) -> None:
    """Vessels, consolidation, nodules and cavities, only inside the lungs."""
    vessels = _vessel_mask(x, y, z, anatomy.vessels) & lungs
    hu[vessels] = BLOOD
    for blob in anatomy.consolidation:
        section = _sphere_section(x, y, z, blob.centre, blob.radius)
        if section is not None:
            hu[section & lungs] = np.maximum(
                hu[section & lungs], -60 + 20 * texture[section & lungs]
            )
    for nodule in anatomy.nodules:
        section = _sphere_section(x, y, z, nodule.centre, nodule.radius)
        if section is not None:
            hu[section & lungs] = nodule.hu
    for cavity in anatomy.cavities:
        outer = _sphere_section(x, y, z, cavity.centre, cavity.radius)
        if outer is not None:
            hu[outer & lungs] = 40.0
            inner = _sphere_section(x, y, z, cavity.centre, cavity.radius - cavity.wall)
            if inner is not None:
                hu[inner & lungs] = AIR


def window(hu: np.ndarray, name: str = "lung") -> np.ndarray:
    """Map HU to uint8 with a display window (``lung`` or ``mediastinal``)."""
    if name not in WINDOWS:
        raise ValueError(f"unknown window {name!r}; known: {', '.join(WINDOWS)}")
    level, width = WINDOWS[name]
    scaled = (hu - (level - width / 2)) / width * 255.0
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def render_patient(
    anatomy: Anatomy,
    n_slices: int,
    size: int,
    window_name: str = "lung",
    noise_hu: float = 18.0,
    oversample: int = 2,
) -> np.ndarray:
    """Render ``n_slices`` adjacent slices as an (n_slices, size, size) uint8 array.

    Each slice is drawn at ``oversample`` times the size, blurred by the scanner's point-spread
    function, averaged down, given spatially correlated noise of about ``noise_hu`` HU standard
    deviation, and windowed.
    """
    from scipy import ndimage  # where used: ctprints.checks imports this module at parse time

    rng = np.random.default_rng(anatomy.texture_seed + 7)
    fine = size * oversample
    slices = []
    for index in range(n_slices):
        z = anatomy.z_start + (index + 0.5) * SLICE_SPACING
        hu = ndimage.gaussian_filter(render_hu(anatomy, z, fine), 0.6 * oversample)
        hu = hu.reshape(size, oversample, size, oversample).mean(axis=(1, 3))
        noise = ndimage.gaussian_filter(rng.normal(size=(size, size)), 0.7)
        hu = hu + noise / (noise.std() + 1e-12) * noise_hu
        slices.append(window(hu, window_name))
    return np.stack(slices)
