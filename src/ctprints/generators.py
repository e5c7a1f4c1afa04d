"""Real generative models for the demo data: a registry of families, trained with torch.

Each family is a small but genuine generative model trained by gradient descent on real phantom
slices. Their fingerprints are whatever their architecture and training leave behind (the
checkerboard of transposed convolutions, the smoothness of a VAE decoder, the residual noise of a
few-step diffusion sampler); nothing is painted on.

The estimator contract follows scikit-learn: ``__init__`` stores parameters, ``fit(images)``
trains and returns ``self``, learned state ends in ``_``; ``sample(n, seed)`` draws images.
Images go in and come out as (N, H, W) uint8 arrays; inside, pixels are scaled to [-1, 1].
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

FAMILIES: dict[str, type[GenerativeModel]] = {}


def register(name: str):
    """Class decorator adding a family to :data:`FAMILIES` under the name used in config."""

    def add(cls):
        cls.family = name
        FAMILIES[name] = cls
        return cls

    return add


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected (N, H, W) uint8 images, got {images.dtype} {images.shape}")
    return torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)[:, None]


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels[:, 0].cpu().numpy()


def _stages(image_size: int) -> int:
    stages = int(round(math.log2(image_size / 4)))
    if 4 * 2**stages != image_size or stages < 1:
        raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
    return stages


def _channels(base: int, stages: int, level: int) -> int:
    """Channels at ``level`` (0 = 4x4): wide at low resolution, ``base`` at full resolution."""
    return min(256, base * 2 ** (stages - level))


def _downsampler(image_size: int, base: int, block) -> tuple[nn.Sequential, int]:
    """Stride-2 stages from the image down to 4x4; ``block(c_in, c_out)`` gives each stage's
    layers. Returns the stages and the channel count at 4x4."""
    stages = _stages(image_size)
    layers: list[nn.Module] = []
    in_channels = 1
    for level in range(stages, 0, -1):
        out_channels = _channels(base, stages, level - 1)
        layers += block(in_channels, out_channels)
        in_channels = out_channels
    return nn.Sequential(*layers), in_channels


class GenerativeModel:
    """Shared training loop, sampling and persistence; subclasses define the networks."""

    family = "base"

    def __init__(
        self,
        image_size: int = 64,
        steps: int = 400,
        batch_size: int = 32,
        learning_rate: float = 2e-4,
        base_channels: int = 16,
        seed: int = 0,
        device: str = "auto",
    ):
        self.image_size = image_size
        self.steps = steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.base_channels = base_channels
        self.seed = seed
        self.device = device

    def get_params(self) -> dict:
        return {
            "image_size": self.image_size,
            "steps": self.steps,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "base_channels": self.base_channels,
            "seed": self.seed,
            "device": self.device,
        }

    # Subclasses implement these three.
    def _build(self) -> None:
        raise NotImplementedError

    def _train_step(self, batch: torch.Tensor, generator: torch.Generator) -> dict[str, float]:
        raise NotImplementedError

    def _generate(self, n: int, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def _modules(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def fit(self, images: np.ndarray, progress: bool = True) -> GenerativeModel:
        """Train on (N, H, W) uint8 images of side ``image_size``; return self."""
        data = _to_tensor(images)
        if data.shape[-1] != self.image_size or data.shape[-2] != self.image_size:
            raise ValueError(
                f"{self.family}: images are {tuple(data.shape[-2:])}, expected {self.image_size}"
            )
        torch.manual_seed(self.seed)
        self.device_ = resolve_device(self.device)
        self._build()
        data = data.to(self.device_)
        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        self.history_: list[dict[str, float]] = []
        bar = tqdm(range(self.steps), desc=f"train {self.family}", disable=not progress)
        for step in bar:
            index = torch.randint(len(data), (self.batch_size,), generator=generator)
            flip = torch.rand(self.batch_size, generator=generator) < 0.5
            batch = data[index]
            # Left-right flips double the data without changing what a slice looks like.
            batch = torch.where(flip.to(self.device_)[:, None, None, None], batch.flip(-1), batch)
            losses = self._train_step(batch, generator)
            self.history_.append({"step": step, **losses})
            if step % 20 == 0:
                bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()})
        return self

    @torch.no_grad()
    def sample(self, n: int, seed: int, batch_size: int = 64) -> np.ndarray:
        """Draw ``n`` images as (n, H, W) uint8; the same seed gives the same images."""
        for module in self._modules().values():
            module.eval()
        generator = torch.Generator(device="cpu").manual_seed(seed)
        chunks = [
            _to_uint8(self._generate(min(batch_size, n - start), generator))
            for start in range(0, n, batch_size)
        ]
        if not chunks:
            return np.zeros((0, self.image_size, self.image_size), dtype=np.uint8)
        return np.concatenate(chunks)

    def _noise(self, shape, generator: torch.Generator) -> torch.Tensor:
        # Drawn on the CPU so that CPU and CUDA runs see the same random numbers.
        return torch.randn(shape, generator=generator).to(self.device_)

    def save(self, path: str | Path) -> None:
        """Save the family, its parameters, the weights and the training history."""
        torch.save(
            {
                "family": self.family,
                "params": self.get_params(),
                "state": {name: m.state_dict() for name, m in self._modules().items()},
                "history": self.history_,
            },
            path,
        )

    @staticmethod
    def load(path: str | Path, device: str = "auto") -> GenerativeModel:
        """Load a model saved by :meth:`save` (a file this workflow wrote; weights only)."""
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model = FAMILIES[saved["family"]](**{**saved["params"], "device": device})
        model.device_ = resolve_device(device)
        model._build()
        for name, module in model._modules().items():
            module.load_state_dict(saved["state"][name])
        model.history_ = saved["history"]
        return model


# ----------------------------------------------------------------------------- GANs


class _Discriminator(nn.Module):
    """Strided convolutions down to 4x4, spectral-normalised for stable short training."""

    def __init__(self, image_size: int, base: int):
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.utils.spectral_norm(nn.Conv2d(c_in, c_out, 4, 2, 1)), nn.LeakyReLU(0.2)]

        self.features, width = _downsampler(image_size, base, block)
        self.head = nn.utils.spectral_norm(nn.Linear(width * 16, 1))

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


class _Generator(nn.Module):
    """Latent vector to image through ``stages`` upsampling blocks of the given kind."""

    def __init__(self, image_size: int, base: int, latent: int, upsample: str):
        super().__init__()
        stages = _stages(image_size)
        top = _channels(base, stages, 0)
        self.top = top
        self.project = nn.Linear(latent, top * 16)
        blocks: list[nn.Module] = [nn.BatchNorm2d(top), nn.ReLU()]
        for level in range(stages):
            c_in, c_out = _channels(base, stages, level), _channels(base, stages, level + 1)
            if upsample == "transposed":
                blocks.append(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1))
            else:
                blocks += [
                    nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv2d(c_in, c_out, 3, 1, 1),
                ]
            blocks += [nn.BatchNorm2d(c_out), nn.ReLU()]
        blocks += [nn.Conv2d(_channels(base, stages, stages), 1, 3, 1, 1), nn.Tanh()]
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z):
        return self.blocks(self.project(z).view(len(z), self.top, 4, 4))


class _GAN(GenerativeModel):
    upsample = "transposed"
    latent = 64

    def _build(self):
        self.generator_ = _Generator(
            self.image_size, self.base_channels, self.latent, self.upsample
        ).to(self.device_)
        self.discriminator_ = _Discriminator(self.image_size, self.base_channels).to(self.device_)
        betas = (0.5, 0.999)
        self.g_optimiser_ = torch.optim.Adam(
            self.generator_.parameters(), self.learning_rate, betas=betas
        )
        self.d_optimiser_ = torch.optim.Adam(
            self.discriminator_.parameters(), self.learning_rate, betas=betas
        )

    def _modules(self):
        return {"generator": self.generator_, "discriminator": self.discriminator_}

    def _train_step(self, batch, generator):
        self.generator_.train()
        self.discriminator_.train()
        fake = self.generator_(self._noise((len(batch), self.latent), generator))
        # Hinge loss: the discriminator pushes real above +1 and fake below -1.
        d_loss = (
            F.relu(1 - self.discriminator_(batch)).mean()
            + F.relu(1 + self.discriminator_(fake.detach())).mean()
        )
        self.d_optimiser_.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_optimiser_.step()
        g_loss = -self.discriminator_(fake).mean()
        self.g_optimiser_.zero_grad(set_to_none=True)
        g_loss.backward()
        self.g_optimiser_.step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}

    def _generate(self, n, generator):
        return self.generator_(self._noise((n, self.latent), generator))


@register("upconv_gan")
class UpconvGAN(_GAN):
    """DCGAN-style GAN whose generator upsamples with transposed convolutions (4x4, stride 2)."""

    upsample = "transposed"


@register("resize_gan")
class ResizeGAN(_GAN):
    """GAN whose generator upsamples by nearest-neighbour resize followed by a 3x3 convolution."""

    upsample = "resize"


# ----------------------------------------------------------------------------- VAE


class _Encoder(nn.Module):
    def __init__(self, image_size: int, base: int, latent: int):
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.GroupNorm(8, c_out), nn.LeakyReLU(0.2)]

        self.features, width = _downsampler(image_size, base, block)
        self.head = nn.Linear(width * 16, 2 * latent)

    def forward(self, x):
        return self.head(self.features(x).flatten(1)).chunk(2, dim=1)


class _Decoder(nn.Module):
    """Bilinear upsampling plus convolutions: smooth, low-noise outputs."""

    def __init__(self, image_size: int, base: int, latent: int):
        super().__init__()
        stages = _stages(image_size)
        self.top = _channels(base, stages, 0)
        self.project = nn.Linear(latent, self.top * 16)
        blocks: list[nn.Module] = []
        for level in range(stages):
            c_in, c_out = _channels(base, stages, level), _channels(base, stages, level + 1)
            blocks += [
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(c_in, c_out, 3, 1, 1),
                nn.GroupNorm(8, c_out),
                nn.SiLU(),
            ]
        blocks += [nn.Conv2d(_channels(base, stages, stages), 1, 3, 1, 1), nn.Tanh()]
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z):
        return self.blocks(F.silu(self.project(z)).view(len(z), self.top, 4, 4))


@register("vae")
class VAE(GenerativeModel):
    """Convolutional variational autoencoder; samples decode latent vectors drawn from N(0, I)."""

    latent = 32
    beta = 1.0

    def _build_networks(self):
        self.encoder_ = _Encoder(self.image_size, self.base_channels, self.latent).to(self.device_)
        self.decoder_ = _Decoder(self.image_size, self.base_channels, self.latent).to(self.device_)
        parameters = [*self.encoder_.parameters(), *self.decoder_.parameters()]
        self.optimiser_ = torch.optim.Adam(parameters, self.learning_rate * 5)

    def _train_step(self, batch, generator):
        self.encoder_.train()
        self.decoder_.train()
        mean, log_variance = self.encoder_(batch)
        z = mean + torch.exp(0.5 * log_variance) * self._noise(mean.shape, generator)
        reconstruction = self.decoder_(z)
        pixels = batch[0].numel()
        recon_loss = F.mse_loss(reconstruction, batch, reduction="sum") / len(batch)
        kl = -0.5 * torch.sum(1 + log_variance - mean**2 - log_variance.exp()) / len(batch)
        # Reconstruction in units of per-pixel variance 0.1: a sharp-enough decoder at this size.
        loss = recon_loss / 0.1 + self.beta * kl
        self.optimiser_.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser_.step()
        return {"recon_mse": recon_loss.item() / pixels, "kl": kl.item()}

    def fit(self, images, progress=True):
        super().fit(images, progress)
        # Ex-post density estimation (Ghosh et al., 2020): a Gaussian fitted to the training codes.
        # Prior samples of a briefly trained VAE land in holes of the latent space and decode to
        # blobs; codes drawn from the fitted Gaussian decode to slices.
        with torch.no_grad():
            self.encoder_.eval()
            means = torch.cat(
                [
                    self.encoder_(chunk.to(self.device_))[0]
                    for chunk in _to_tensor(images).split(256)
                ]
            ).double()
        centre = means.mean(0)
        covariance = torch.cov(means.T) + 1e-4 * torch.eye(self.latent, dtype=torch.float64)
        self.code_mean_.data = centre.float()
        self.code_chol_.data = torch.linalg.cholesky(covariance).float()
        return self

    def _modules(self):
        codes = nn.ParameterList([self.code_mean_, self.code_chol_])
        return {"encoder": self.encoder_, "decoder": self.decoder_, "codes": codes}

    def _build(self):
        self._build_networks()
        device = self.device_
        self.code_mean_ = nn.Parameter(torch.zeros(self.latent, device=device), requires_grad=False)
        self.code_chol_ = nn.Parameter(torch.eye(self.latent, device=device), requires_grad=False)

    def _generate(self, n, generator):
        z = self.code_mean_ + self._noise((n, self.latent), generator) @ self.code_chol_.T
        return self.decoder_(z)


# ----------------------------------------------------------------------------- diffusion


def _timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    frequencies = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / half)
    angles = t.float()[:, None] * frequencies[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class _ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, t_dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(8, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.time = nn.Linear(t_dim, c_out)
        self.norm2 = nn.GroupNorm(8, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, t):
        h = self.conv1(F.silu(self.norm1(x))) + self.time(t)[:, :, None, None]
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class _UNet(nn.Module):
    """A small U-Net: ``levels`` resolutions, one residual block each way, time conditioning."""

    def __init__(self, base: int, levels: int):
        super().__init__()
        self.t_dim = base * 4
        self.time = nn.Sequential(
            nn.Linear(base, self.t_dim), nn.SiLU(), nn.Linear(self.t_dim, self.t_dim)
        )
        widths = [base * 2**i for i in range(levels)]
        self.stem = nn.Conv2d(1, base, 3, 1, 1)
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        c = base
        for width in widths:
            self.down.append(_ResBlock(c, width, self.t_dim))
            self.pool.append(nn.Conv2d(width, width, 3, 2, 1))
            c = width
        self.middle = _ResBlock(c, c, self.t_dim)
        self.up = nn.ModuleList()
        for width in reversed(widths):
            self.up.append(_ResBlock(c + width, width, self.t_dim))
            c = width
        self.out = nn.Sequential(nn.GroupNorm(8, c), nn.SiLU(), nn.Conv2d(c, 1, 3, 1, 1))
        self.base = base

    def forward(self, x, t):
        t = self.time(_timestep_embedding(t, self.base))
        h = self.stem(x)
        skips = []
        for block, pool in zip(self.down, self.pool, strict=True):
            h = block(h, t)
            skips.append(h)
            h = pool(h)
        h = self.middle(h, t)
        for block in self.up:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = block(torch.cat([h, skips.pop()], dim=1), t)
        return self.out(h)


@register("ddpm")
class DDPM(GenerativeModel):
    """Denoising diffusion model (epsilon prediction, cosine schedule), sampled with DDIM."""

    timesteps = 200
    sampling_steps = 20

    def _build(self):
        levels = 3 if self.image_size <= 64 else 4
        self.unet_ = _UNet(max(16, self.base_channels), levels).to(self.device_)
        self.optimiser_ = torch.optim.Adam(self.unet_.parameters(), self.learning_rate * 5)
        s = 0.008
        steps = torch.arange(self.timesteps + 1, dtype=torch.float64) / self.timesteps
        alpha_bar = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        alpha_bar = (alpha_bar / alpha_bar[0]).clamp(1e-5, 1)
        self.alpha_bar_ = alpha_bar[1:].float().to(self.device_)

    def _modules(self):
        return {"unet": self.unet_}

    def _train_step(self, batch, generator):
        self.unet_.train()
        t = torch.randint(self.timesteps, (len(batch),), generator=generator).to(self.device_)
        noise = self._noise(batch.shape, generator)
        a = self.alpha_bar_[t][:, None, None, None]
        noisy = a.sqrt() * batch + (1 - a).sqrt() * noise
        loss = F.mse_loss(self.unet_(noisy, t), noise)
        self.optimiser_.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser_.step()
        return {"eps_mse": loss.item()}

    def _generate(self, n, generator):
        x = self._noise((n, 1, self.image_size, self.image_size), generator)
        schedule = torch.linspace(self.timesteps - 1, 0, self.sampling_steps).round().long()
        for index, t in enumerate(schedule):
            a = self.alpha_bar_[t]
            a_next = self.alpha_bar_[schedule[index + 1]] if index + 1 < len(schedule) else 1.0
            eps = self.unet_(x, torch.full((n,), int(t), device=self.device_))
            x0 = ((x - (1 - a).sqrt() * eps) / a.sqrt()).clamp(-1, 1)
            x = (a_next**0.5) * x0 + ((1 - a_next) ** 0.5) * eps
        return x


def make_model(family: str, **params) -> GenerativeModel:
    """A new, untrained model of ``family``; raises naming the known families otherwise."""
    if family not in FAMILIES:
        raise ValueError(f"unknown generator family {family!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[family](**params)
