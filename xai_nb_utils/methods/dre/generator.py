"""DRE's relevance estimator (Fu et al., TPAMI): the real-time mask generator of Dabkowski & Gal with the skewing
distribution controller, its training, and the ``dre`` / ``mgnet`` registry entries; DRE+ self-based tuning.

* the generator (section 3.2.2): frozen encoder = the classifier's stages, class-selective spatial filter (eq. 3)
  trained with the embedding loss (eq. 4), three upsampling bottleneck cells, then the controller C(X) (DRE) or
  sigmoid(X) (the MGnet baseline);
* training: DRE with the classification loss of eq. (9) only, MGnet with the constraints of eq. (2); perturbation
  eq. (1) with the authors' backgrounds (half blurred, half random colour plus noise);
* DRE+ self-based post-hoc tuning (section 4.4.1).

A fitted estimator is an explicit object: ``estimator = fit_relevance_estimator(model, images, num_classes,
generator_config("dre"))``, then ``explain("dre", model, x, target, generator=estimator)``. It is cached on disk
under a key of its full configuration, the classifier's weights and the training images (:func:`estimator_key`);
nothing is registered globally. The authors publish inference code only (no training script): the training
schedule and MGnet's lambdas are ours.
"""
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from xai_nb_utils.core.progress import tqdm

from xai_nb_utils.core.cache import cached_torch, config_key, fingerprint
from xai_nb_utils.core.params import resolve_device
from xai_nb_utils.core.paths import cache_dir
from xai_nb_utils.core.evaluation import predicted_classes
from xai_nb_utils.core.tensors import perturb, total_variation
from xai_nb_utils.methods.dre.controller import DEFAULT_ETA, DEFAULT_H, DistributionController, check_controller_params
from xai_nb_utils.methods.registry import register_method
from xai_nb_utils.metrics.relevance import (BLUR_SIGMA_FRACTION, DELTA, SMOOTH_WEIGHT, blur, faithfulness_curves,
                                            ranking_map)

# ---------------------------------------------------------------------------------------------------------------
# The real-time mask generator (Dabkowski & Gal; section 3.2.2) with or without the controller
# ---------------------------------------------------------------------------------------------------------------

def encoder_features(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The frozen encoder E: the classifier's stage outputs on [0, 1] images, highest resolution first."""
    if not hasattr(model, "stages"):
        raise ValueError(f"{type(model).__name__} has no .stages(z) method; the DRE generator needs a model whose "
                         "stages return multi-scale feature maps (e.g. models.SceneCNN)")
    with torch.no_grad():
        return [f.detach() for f in model.stages(model.normalizer(x))]


class ClassSelector(nn.Module):
    """The class-selective spatial filter, eq. (3): F_ij * sigmoid(F_ij . V_t) with learned class embeddings V."""

    def __init__(self, num_classes: int, channels: int):
        super().__init__()
        self.embeddings = nn.Embedding(num_classes, channels)
        nn.init.normal_(self.embeddings.weight, std=channels ** -0.5)

    def gate(self, features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """sigmoid(F_ij . V_t), shape (N, 1, h, w)."""
        return torch.sigmoid((features * self.embeddings(target)[:, :, None, None]).sum(1, keepdim=True))

    def forward(self, features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return features * self.gate(features, target)


def embedding_loss(selector: ClassSelector, features: torch.Tensor, target: torch.Tensor,
                   fake: torch.Tensor) -> torch.Tensor:
    """Eq. (4), averaged over locations and images: pull the true-class gate up, push a fake class's gate down."""
    return selector.gate(features, fake).mean() - selector.gate(features, target).mean()


def _conv_bn(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(c_out))


class UpsampleCell(nn.Module):
    """x2 transposed convolution, concatenation with the encoder's higher-resolution features, bottleneck block
    (1x1 reduce, 3x3, 1x1) with a projection shortcut; outputs as many channels as the upsampled maps."""

    def __init__(self, c_in: int, c_skip: int, c_out: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(c_in, c_out, 2, stride=2)
        c_cat = c_out + c_skip
        self.block = nn.Sequential(_conv_bn(c_cat, c_out, 1), nn.ReLU(), _conv_bn(c_out, c_out, 3), nn.ReLU(),
                                   _conv_bn(c_out, c_out, 1))
        self.shortcut = _conv_bn(c_cat, c_out, 1)

    def forward(self, low: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = self.up(low)
        if up.shape[-2:] != skip.shape[-2:]:
            up = F.interpolate(up, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        joined = torch.cat([up, skip], dim=1)
        return F.relu(self.block(joined) + self.shortcut(joined))


class MaskGenerator(nn.Module):
    """G followed by C: class selector on the last encoder stage, one upsampling cell per earlier stage (three for
    SceneCNN: 8 -> 16 -> 32 -> 64 pixels), a 3x3 conv to one channel X, then the controller C(X) (DRE) or
    sigmoid(X) (MGnet), then bilinear upsampling to the image size."""

    def __init__(self, stage_channels, num_classes: int, use_controller: bool = True, eta: float = DEFAULT_ETA,
                 h: float = DEFAULT_H):
        super().__init__()
        stage_channels = list(stage_channels)
        self.selector = ClassSelector(num_classes, stage_channels[-1])
        cells, c_in = [], stage_channels[-1]
        for c_skip in reversed(stage_channels[:-1]):
            c_out = max(c_skip // 2, 8)
            cells.append(UpsampleCell(c_in, c_skip, c_out))
            c_in = c_out
        self.cells = nn.ModuleList(cells)
        self.head = nn.Conv2d(c_in, 1, 3, padding=1)
        self.use_controller = use_controller
        self.controller = DistributionController(eta, h)

    def raw(self, features: list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        """The generator output X (N, 1, h, w) before the controller."""
        z = self.selector(features[-1], target)
        for cell, skip in zip(self.cells, reversed(features[:-1])):
            z = cell(z, skip)
        return self.head(z)

    def squash(self, raw: torch.Tensor) -> torch.Tensor:
        return self.controller(raw) if self.use_controller else torch.sigmoid(raw)

    def forward(self, model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The mask M (N, 1, H, W) in [0, 1] for images x and target classes."""
        mask = self.squash(self.raw(encoder_features(model, x), target))
        return F.interpolate(mask, size=x.shape[-2:], mode="bilinear", align_corners=False)

    @torch.no_grad()
    def raw_map(self, model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """X before the controller, upsampled to the image size (to try other controllers on it)."""
        raw = self.raw(encoder_features(model, x), target)
        return F.interpolate(raw, size=x.shape[-2:], mode="bilinear", align_corners=False)


# ---------------------------------------------------------------------------------------------------------------
# Backgrounds of eq. (1), losses (eqs. 2, 4, 9) and training
# ---------------------------------------------------------------------------------------------------------------

COLOUR_OFFSET, COLOUR_NOISE_STD, KEPT_NOISE_STD = 0.33, 0.11, 0.03  # the authors' random-colour background


def random_backgrounds(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The paper's training backgrounds B of eq. (1): each image's blurred version with probability 1/2, otherwise
    a random colour (0.5 +- 0.33 per channel) plus Gaussian noise (std 0.11), clamped to [0, 1]."""
    n, c = x.shape[:2]
    draw = lambda *shape: torch.rand(*shape, generator=generator).to(x.device)
    colour = 0.5 + COLOUR_OFFSET * (2 * draw(n, c, 1, 1) - 1)
    noise = COLOUR_NOISE_STD * torch.randn(x.shape, generator=generator).to(x.device)
    use_blur = (draw(n, 1, 1, 1) < 0.5).float()
    return use_blur * blur(x) + (1 - use_blur) * (colour + noise).clamp(0, 1)


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything that determines a fitted estimator (with the classifier's weights and the training images: its
    cache key, :func:`estimator_key`).

    kind="dre": controller C(X) and the classification loss of eq. (9) (add constraints for the ablation);
    kind="mgnet": sigmoid(X) and the constraints of eq. (2). ``plateau_tol`` > 0 trains to a plateau: it stops
    after the first epoch (from the second on) whose mean loss is less than ``plateau_tol`` (relative) below the
    previous epoch's, ``epochs`` being the cap; 0 trains all ``epochs``."""

    kind: str = "dre"
    eta: float = DEFAULT_ETA
    h: float = DEFAULT_H
    lambda_bg: float = 0.0
    lambda_av: float = 0.0
    lambda_tv: float = 0.0
    area_power: float = 0.3
    n_train: int = 2000
    embed_epochs: int = 1
    epochs: int = 4
    batch_size: int = 64
    lr: float = 1e-2
    lr_halve_every: int = 2
    seed: int = 0
    plateau_tol: float = 0.0  # > 0: stop at the first epoch whose mean loss fell by less than this fraction


KINDS = ("dre", "mgnet")
# MGnet's constraints, eq. (2), relative to the classification loss: destroyer (lambda_bg), area ** 0.3 (lambda_av)
# and smoothness (lambda_tv); chosen around Dabkowski & Gal's (destroyer 1, area 8, smoothness 0.005, preserver
# 0.3, i.e. 3.3, 27, 0.017 relative to the preserver) for our 64-pixel scenes.
MGNET_LAMBDAS = dict(lambda_bg=1.0, lambda_av=2.0, lambda_tv=0.05)


def generator_config(kind: str = "dre", **overrides) -> GeneratorConfig:
    """The configuration of a DRE or MGnet estimator (MGnet with :data:`MGNET_LAMBDAS`), with ``overrides``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    lambdas = MGNET_LAMBDAS if kind == "mgnet" else {}
    config = replace(GeneratorConfig(kind=kind, **lambdas), **overrides)
    check_controller_params(config.eta, config.h)
    return config


def estimator_key(config: GeneratorConfig, model: nn.Module, train_images: torch.Tensor) -> str:
    """The cache key of an estimator: every field of ``config`` (n_train, epochs and seed included), the
    classifier's weights and the images it is fitted on (the first ``config.n_train`` of ``train_images``)."""
    return config_key({**asdict(config), "model": fingerprint(model),
                       "images": fingerprint(train_images[:config.n_train])})


def generator_loss(model: nn.Module, x: torch.Tensor, mask: torch.Tensor, background: torch.Tensor,
                   target: torch.Tensor, config: GeneratorConfig) -> torch.Tensor:
    """Eq. (9) cross-entropy on the preserved image, plus the eq. (2) constraints whose lambdas are non-zero."""
    loss = F.cross_entropy(model(perturb(x, mask, background)), target)
    if config.lambda_bg:
        destroyed = model(perturb(x, 1 - mask, background)).softmax(1)
        loss = loss + config.lambda_bg * destroyed.gather(1, target[:, None]).mean()
    if config.lambda_av:
        loss = loss + config.lambda_av * mask.mean(dim=(1, 2, 3)).clamp_min(1e-6).pow(config.area_power).mean()
    if config.lambda_tv:
        loss = loss + config.lambda_tv * total_variation(mask).mean()
    return loss


def _batches(n: int, batch_size: int, generator: torch.Generator):
    order = torch.randperm(n, generator=generator)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _new_generator(config: GeneratorConfig, stage_channels, num_classes: int) -> MaskGenerator:
    """A generator initialised from ``config.seed`` (the global RNG is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return MaskGenerator(stage_channels, num_classes, config.kind == "dre", config.eta, config.h)


def _train_generator(model: nn.Module, x: torch.Tensor, num_classes: int, config: GeneratorConfig,
                     device: torch.device) -> dict:
    """Train a generator from scratch, seeded by ``config.seed`` (all draws from its own generators)."""
    rng = torch.Generator().manual_seed(config.seed)
    generator = _new_generator(config, model.stage_channels, num_classes).to(device)
    targets = predicted_classes(model, x.to(device)).cpu()  # only the classifier's outputs are used, never the labels
    history = []
    model.requires_grad_(False)
    try:
        bar = tqdm(total=config.embed_epochs + config.epochs, desc=f"training {config.kind} generator")
        # stage 1: the class embeddings of the spatial filter, eq. (4)
        optimizer = torch.optim.Adam(generator.selector.parameters(), lr=config.lr)
        for _ in range(config.embed_epochs):
            losses = []
            for batch in _batches(len(x), config.batch_size, rng):
                features = encoder_features(model, x[batch].to(device))[-1]
                target = targets[batch].to(device)
                fake = (target + torch.randint(1, num_classes, target.shape, generator=rng).to(device)) % num_classes
                loss = embedding_loss(generator.selector, features, target, fake)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            history.append({"stage": "embeddings", "loss": float(np.mean(losses))})
            bar.update()
        # stage 2: the rest of the generator, eq. (9) (+ eq. (2) constraints), embeddings frozen
        generator.selector.requires_grad_(False)
        parameters = [p for p in generator.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(parameters, lr=config.lr)
        schedule = torch.optim.lr_scheduler.StepLR(optimizer, config.lr_halve_every, gamma=0.5)
        for _ in range(config.epochs):
            generator.train()
            losses = []
            for batch in _batches(len(x), config.batch_size, rng):
                xb, target = x[batch].to(device), targets[batch].to(device)
                mask = generator(model, xb, target)
                kept = (xb + KEPT_NOISE_STD * torch.randn(xb.shape, generator=rng).to(device)).clamp(0, 1)
                loss = generator_loss(model, kept, mask, random_backgrounds(xb, rng), target, config)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            schedule.step()
            history.append({"stage": "generator", "loss": float(np.mean(losses))})
            bar.set_postfix(loss=f"{history[-1]['loss']:.3f}")
            bar.update()
            if config.plateau_tol > 0 and reached_plateau(history, config.plateau_tol):
                break
        bar.close()
    finally:
        model.requires_grad_(True)
    generator.eval()
    return {"state_dict": {k: v.cpu() for k, v in generator.state_dict().items()}, "config": asdict(config),
            "history": history, "num_classes": num_classes, "stage_channels": list(model.stage_channels),
            "converged": config.plateau_tol > 0 and reached_plateau(history, config.plateau_tol)}


def reached_plateau(history: list, tol: float) -> bool:
    """Whether the last generator epoch's mean loss fell by less than ``tol`` (relative) from the epoch before."""
    losses = [h["loss"] for h in history if h["stage"] == "generator"]
    return len(losses) >= 2 and losses[-2] - losses[-1] < tol * abs(losses[-2])


# ---------------------------------------------------------------------------------------------------------------
# The fitted estimator and the registry entries
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class RelevanceEstimator:
    """A fitted DRE / MGnet relevance estimator: the trained mask generator, the configuration it was trained
    under, its cache key (:func:`estimator_key`), the loss per epoch, the training time (when first built) and
    whether training reached its loss plateau (``GeneratorConfig.plateau_tol``; False when it was not asked for)."""

    generator: MaskGenerator
    config: GeneratorConfig
    key: str
    history: list
    train_seconds: float
    converged: bool = False

    @torch.no_grad()
    def maps(self, model: nn.Module, x: torch.Tensor, target: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Masks (N, 1, H, W) in [0, 1] for images x and target classes, in one forward pass per batch."""
        generator = self.generator.to(x.device).eval()
        return torch.cat([generator(model, x[i:i + batch_size], target[i:i + batch_size])
                          for i in range(0, len(x), batch_size)])

    def raw_map(self, model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The generator output X before the controller, upsampled to the image size."""
        return self.generator.to(x.device).eval().raw_map(model, x, target)


SAVED_KEYS = ("state_dict", "config", "history", "num_classes", "stage_channels", "train_seconds", "converged")


def fit_relevance_estimator(model: nn.Module, train_images: torch.Tensor, num_classes: int,
                            config: GeneratorConfig, device: str | torch.device | None = None) -> RelevanceEstimator:
    """Fit a DRE / MGnet estimator for ``model`` on the first ``config.n_train`` ``train_images``, or load it from
    the cache (keyed by :func:`estimator_key`). ``device``: where to train (default: the model's)."""
    if device is None:
        device = next(model.parameters()).device
    device = resolve_device(device) if isinstance(device, str) else device
    x = train_images[:config.n_train]
    key = estimator_key(config, model, train_images)
    start = time.perf_counter()
    saved = cached_torch(cache_dir() / "dre" / f"{config.kind}-{key}.pt",
                         lambda: {**_train_generator(model, x, num_classes, config, device),
                                  "train_seconds": time.perf_counter() - start}, SAVED_KEYS)
    generator = _new_generator(config, saved["stage_channels"], saved["num_classes"])
    generator.load_state_dict(saved["state_dict"])
    return RelevanceEstimator(generator.to(device).eval(), config, key, saved["history"], saved["train_seconds"],
                              bool(saved["converged"]))


def estimator_maps(kind: str, model: nn.Module, x: torch.Tensor, target: torch.Tensor,
                   generator: RelevanceEstimator | None) -> torch.Tensor:
    """The masks of a fitted estimator of ``kind``; a clear error when none (or one of another kind) is given."""
    if not isinstance(generator, RelevanceEstimator):
        raise ValueError(f"explain({kind!r}, ...) needs generator=<a fitted RelevanceEstimator>, got {generator!r}: "
                         f"fit one with methods.dre.fit_relevance_estimator(model, train_images, num_classes, "
                         f"methods.dre.generator_config({kind!r}))")
    if generator.config.kind != kind:
        raise ValueError(f"explain({kind!r}, ...) got generator= a fitted {generator.config.kind!r} estimator")
    return generator.maps(model, x, target)


@register_method("dre", "single", "perturbation")
def dre_maps(model, x, target, generator: RelevanceEstimator | None = None):
    """DRE (Fu et al.): a fitted mask generator followed by the skewing controller; one forward pass."""
    return estimator_maps("dre", model, x, target, generator)


@register_method("mgnet", "single", "perturbation")
def mgnet_maps(model, x, target, generator: RelevanceEstimator | None = None):
    """MGnet (Dabkowski & Gal's real-time mask generator, trained with the constraints of eq. 2)."""
    return estimator_maps("mgnet", model, x, target, generator)


# ---------------------------------------------------------------------------------------------------------------
# DRE+ self-based post-hoc tuning (section 4.4.1)
# ---------------------------------------------------------------------------------------------------------------

def dre_plus(model, x: torch.Tensor, maps: torch.Tensor, target, delta: float = DELTA,
             smooth_weight: float = SMOOTH_WEIGHT, sigma_fraction: float = BLUR_SIGMA_FRACTION, **kwargs) -> torch.Tensor:
    """DRE+ (self-based, section 4.4.1): M'_k = M_k * (Q_max - Q_k) with Q the monotone (running max)
    accumulated class probability after revealing the top k pixels, measured every delta and linearly
    interpolated in between (the same ranking and conventions as M_F; more keywords:
    :func:`metrics.relevance.faithfulness_curves`)."""
    curves = faithfulness_curves(model, x, maps, target, delta, smooth_weight, sigma_fraction, **kwargs)
    monotone = np.maximum.accumulate(curves.scores, axis=1)
    n, _, h, w = x.shape
    total = h * w
    order = torch.argsort(ranking_map(maps, smooth_weight, sigma_fraction).flatten(1).cpu(), dim=1, descending=True,
                          stable=True)
    revealed = np.arange(1, total + 1) / total  # fraction revealed once the pixel of each rank is in
    weights = np.stack([monotone[i, -1] - np.interp(revealed, curves.fractions, monotone[i]) for i in range(n)])
    by_pixel = torch.empty(n, total, dtype=torch.float32)
    by_pixel.scatter_(1, order, torch.as_tensor(weights, dtype=torch.float32))
    return maps * by_pixel.view(n, 1, h, w).to(maps.device)
