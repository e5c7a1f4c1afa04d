"""Trial behind the default `demo.task2.family` (vae): do two generators of one family that differ
only in their seed differ in image content, or only in their fingerprint?

    PYTHONPATH=src python benchmarks/trial_seed_family.py VARIANT STEPS [FAMILY] REAL_NPZ

VARIANT is ``base`` (the family as in ctprints.generators) or ``mbstd`` (the GAN discriminator
given a minibatch-standard-deviation channel, a common remedy for mode collapse). Two generators
(seeds 1 and 2) train on the first 800 real slices of REAL_NPZ (a demo benchmark's
results/<dataset>/build/real.npz) and draw 100 images each. Printed: the per-pixel standard
deviation across samples (the real slices' for reference), k-means (2 clusters) on raw pixels as
an accuracy between the seeds (content), and 5-fold logistic regression on the spectrum and
residual fingerprints (the fingerprint). Results: benchmarks/RESULTS.md, "Seed scenario family".
"""

import sys
import time

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

import ctprints.generators as G
from ctprints import embed

torch.set_num_threads(2)


class MBStd(nn.Module):
    def forward(self, x):
        std = x.std(0, unbiased=False).mean().expand(len(x), 1, *x.shape[2:])
        return torch.cat([x, std], 1)


class Disc(nn.Module):
    def __init__(self, image_size, base):
        super().__init__()

        def block(c_in, c_out):
            return [nn.utils.spectral_norm(nn.Conv2d(c_in, c_out, 4, 2, 1)), nn.LeakyReLU(0.2)]

        self.features, width = G._downsampler(image_size, base, block)
        self.mb = MBStd()
        self.head = nn.Sequential(
            nn.utils.spectral_norm(nn.Conv2d(width + 1, width, 3, 1, 1)),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.utils.spectral_norm(nn.Linear(width * 16, 1)),
        )

    def forward(self, x):
        return self.head(self.mb(self.features(x)))


def main(variant: str, steps: int, family: str, real_npz: str) -> None:
    if variant == "mbstd":
        G._Discriminator = Disc
    real = np.load(real_npz)["images"][:800]
    print("real per-pixel std", real.astype(float).std(0).mean())
    samples = []
    for seed in (1, 2):
        start = time.time()
        model = G.make_model(
            family,
            image_size=64,
            steps=steps,
            batch_size=32,
            base_channels=16,
            seed=seed,
            device="cpu",
        )
        model.fit(real, progress=False)
        drawn = model.sample(100, 7).astype(float)
        print(variant, seed, f"{time.time() - start:.0f}s", "sample std", drawn.std(0).mean())
        samples.append(drawn.reshape(100, -1))
    X, y = np.concatenate(samples), np.repeat([0, 1], 100)
    clusters = KMeans(2, n_init=10, random_state=0).fit_predict(X)
    print(
        variant,
        "kmeans pixel acc between seeds",
        max((clusters == y).mean(), (clusters != y).mean()),
    )
    images = X.reshape(-1, 64, 64).astype(np.uint8)
    for name, features in (
        ("spectrum", embed.spectrum_features),
        ("residual", embed.residual_features),
    ):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        print(
            family, name, "5-fold LR acc", cross_val_score(model, features(images), y, cv=5).mean()
        )


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0], int(args[1]), args[2] if len(args) > 3 else "upconv_gan", args[-1])
