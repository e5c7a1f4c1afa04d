"""Building the demo's images: phantom patients rendered (:func:`render_patients`), one
generator trained per plan instance (:func:`train_generator`), and the demo data loaded
back (:func:`load_demo_data`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ctprints.demo.scenarios import Instance, sub_seed
from ctprints.phantom import render_patient, sample_anatomy


def _render_one(job: tuple[str, int, int, int, str]) -> np.ndarray:
    patient, anatomy_seed, slices_per_patient, image_size, window = job
    anatomy = sample_anatomy(patient, anatomy_seed, slices_per_patient)
    return render_patient(anatomy, slices_per_patient, image_size, window)


def render_patients(
    patients: dict[str, int],
    slices_per_patient: int,
    image_size: int,
    window: str,
    workers: int = 1,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Render patients (id -> anatomy seed): ``images`` (N, H, W) uint8, ``patient``, ``slice``.

    Patients are independent, so ``workers`` > 1 renders them in parallel processes; the result
    is identical to a serial run.
    """
    from concurrent.futures import ProcessPoolExecutor

    jobs = [(p, seed, slices_per_patient, image_size, window) for p, seed in patients.items()]
    bar = dict(total=len(jobs), desc="phantom patients", unit="patient", disable=not progress)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            stacks = list(tqdm(pool.map(_render_one, jobs, chunksize=4), **bar))
    else:
        stacks = list(tqdm(map(_render_one, jobs), **bar))
    return {
        "images": np.concatenate(stacks),
        "patient": np.repeat(np.asarray(list(patients)), slices_per_patient),
        "slice": np.tile(np.arange(slices_per_patient, dtype=np.int32), len(patients)),
    }


def train_generator(
    instance: Instance,
    real: dict[str, np.ndarray],
    image_size: int,
    steps: int,
    batch_size: int,
    base_channels: int,
    device: str = "auto",
    progress: bool = True,
):
    """Train one planned generator on its patients' slices; return (model, samples by purpose)."""
    from ctprints.generators import make_model

    images = real["images"][np.isin(real["patient"], instance.patients)]
    model = make_model(
        instance.family,
        image_size=image_size,
        steps=steps,
        batch_size=batch_size,
        base_channels=base_channels,
        seed=instance.seed,
        device=device,
    ).fit(images, progress=progress)
    samples = {
        purpose: model.sample(count, seed=sub_seed(instance.seed, "sample", purpose))
        for purpose, count in sorted(instance.samples.items())
    }
    return model, samples


def load_demo_data(
    real_path: str | Path, sample_paths: list[str]
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """Read the rendered patients and each generator's samples (named by their folder)."""
    with np.load(real_path) as archive:
        real = {key: archive[key] for key in archive.files}
    samples = {}
    for path in sample_paths:
        with np.load(path) as archive:
            samples[Path(path).parent.name] = {key: archive[key] for key in archive.files}
    return real, samples
