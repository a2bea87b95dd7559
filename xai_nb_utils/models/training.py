"""Seeded training of the embedded models, cached on disk keyed by the full training configuration.

``trained_model("scene_cnn", profile="default")`` trains once (with a progress bar) and afterwards loads the
cached weights and the test accuracy measured when they were trained.
"""
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from xai_nb_utils.core.cache import cached_torch, config_key
from xai_nb_utils.data.embedded import load_digit_scenes, load_mnist, load_tabular
from xai_nb_utils.models.networks import MnistCNN, SceneCNN, TabularMLP
from xai_nb_utils.core.params import by_profile, check_choice, resolve_device, seed_everything
from xai_nb_utils.core.paths import cache_dir


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model (and so its cache key)."""

    architecture: str  # "mnist_cnn" | "scene_cnn" | "tabular_mlp"
    dataset: str  # "mnist" | "digit_scenes" | one of data.TABULAR_SETS
    dataset_kwargs: dict = field(default_factory=dict)
    epochs: int = 5
    batch_size: int = 64
    optimizer: str = "adam"  # "adam" | "sgd"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "constant"  # "constant" | "onecycle" (lr rises to `lr`, then anneals to ~0)
    random_labels: bool = False  # the label-randomisation sanity check of Adebayo et al.
    seed: int = 0


@dataclass
class TrainedModel:
    model: torch.nn.Module
    dataset: object
    config: TrainConfig
    test_accuracy: float
    history: list

    @property
    def name(self) -> str:
        return f"{self.config.architecture} on {self.config.dataset}"


def load_dataset(name: str, dataset_kwargs: dict):
    if name == "mnist":
        return load_mnist(**dataset_kwargs)
    if name == "digit_scenes":
        return load_digit_scenes(**dataset_kwargs)
    return load_tabular(name)


def build_model(architecture: str, dataset) -> torch.nn.Module:
    check_choice("architecture", architecture, ("mnist_cnn", "scene_cnn", "tabular_mlp"))
    if architecture == "mnist_cnn":
        return MnistCNN(dataset.num_classes)
    if architecture == "scene_cnn":
        return SceneCNN(dataset.num_classes)
    return TabularMLP(dataset.num_features, dataset.num_classes)


def split_tensors(split):
    return (split.x, split.y) if hasattr(split, "x") else split


@torch.no_grad()
def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> float:
    model.eval()
    device = next(model.parameters()).device
    correct = sum((model(x[i:i + batch_size].to(device)).argmax(1).cpu() == y[i:i + batch_size]).sum().item()
                  for i in range(0, len(y), batch_size))
    return correct / len(y)


def _train(config: TrainConfig, dataset, device: torch.device) -> dict:
    seed_everything(config.seed)
    model = build_model(config.architecture, dataset).to(device)
    x, y = split_tensors(dataset.train)
    if config.random_labels:
        y = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(config.seed))]
    if config.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                    weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = -(-len(y) // config.batch_size)
    scheduler = None
    if check_choice("schedule", config.schedule, ("constant", "onecycle")) == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, epochs=config.epochs,
                                                        steps_per_epoch=steps_per_epoch)
    generator = torch.Generator().manual_seed(config.seed)
    history = []
    bar = tqdm(range(config.epochs), desc=f"training {config.architecture} on {config.dataset}")
    for epoch in bar:
        model.train()
        order = torch.randperm(len(y), generator=generator)
        losses = []
        for i in range(0, len(y), config.batch_size):
            batch = order[i:i + config.batch_size]
            loss = F.cross_entropy(model(x[batch].to(device)), y[batch].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            losses.append(loss.item())
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)),
                        "val_accuracy": accuracy(model, *split_tensors(dataset.val))})
        bar.set_postfix(loss=f"{history[-1]['loss']:.3f}", val_accuracy=f"{history[-1]['val_accuracy']:.3f}")
    model.eval()
    state = {k: v.cpu() for k, v in model.state_dict().items()}
    return {"state_dict": state, "history": history, "test_accuracy": accuracy(model, *split_tensors(dataset.test))}


def train_classifier(config: TrainConfig, device: str | torch.device = "auto") -> TrainedModel:
    """Train ``config`` or load it from the cache; the model is returned in eval mode on ``device``."""
    device = resolve_device(device) if isinstance(device, str) else device
    dataset = load_dataset(config.dataset, config.dataset_kwargs)
    path = cache_dir() / "models" / f"{config.architecture}-{config.dataset}-{config_key(asdict(config))}.pt"
    saved = cached_torch(path, lambda: _train(config, dataset, device), ("state_dict", "history", "test_accuracy"))
    model = build_model(config.architecture, dataset)
    model.load_state_dict(saved["state_dict"])
    model.to(device).eval()
    return TrainedModel(model, dataset, config, saved["test_accuracy"], saved["history"])


SCENE_SIZES = {"smoke": dict(n_train=600, n_val=100, n_test=200), "default": dict(n_train=3000, n_val=500, n_test=1000)}
MARKER_SCENES = dict(marker_rate=0.9, marker_false_rate=0.02, marker_class=0)

PRESETS = {
    # the GGIG paper's recipe: SGD lr 4e-4, momentum 0.9, batch 64
    "mnist_cnn": dict(architecture="mnist_cnn", dataset="mnist", optimizer="sgd", lr=4e-4, momentum=0.9,
                      batch_size=64, epochs={"smoke": 2, "default": 30}),
    "scene_cnn": dict(architecture="scene_cnn", dataset="digit_scenes", optimizer="adam", lr=8e-3,
                      schedule="onecycle", batch_size=64, epochs={"smoke": 4, "default": 5}),
    "scene_cnn_marker": dict(architecture="scene_cnn", dataset="digit_scenes", optimizer="adam", lr=8e-3,
                             schedule="onecycle", batch_size=64, epochs={"smoke": 4, "default": 5},
                             scene_kwargs=MARKER_SCENES),
    "tabular_wine": dict(architecture="tabular_mlp", dataset="wine", lr=1e-2, batch_size=16,
                         epochs={"smoke": 20, "default": 60}),
    "tabular_breast_cancer": dict(architecture="tabular_mlp", dataset="breast_cancer", lr=1e-2, batch_size=32,
                                  epochs={"smoke": 10, "default": 40}),
    "tabular_digits": dict(architecture="tabular_mlp", dataset="digits", lr=1e-2, batch_size=64,
                           epochs={"smoke": 5, "default": 30}),
}
VARIANTS = ("well", "under", "random_labels")


def preset_config(name: str, profile: str = "default", variant: str = "well", seed: int = 0, **overrides) -> TrainConfig:
    """The training configuration of a named preset.

    ``variant="under"`` trains a deliberately sub-optimal model (two fifths of the epochs, at least one, at
    half the learning rate), the GAX paper's "Resnet34_sub" analogue; ``"random_labels"`` trains on
    permuted labels. ``profile="paper"`` uses the default sizes (paper-scale models come from ``external``).
    """
    check_choice("model name", name, list(PRESETS))
    check_choice("variant", variant, VARIANTS)
    size = by_profile(profile, "smoke", "default")
    preset = dict(PRESETS[name])
    epochs = preset.pop("epochs")[size]
    dataset_kwargs = {"seed": seed} if preset["dataset"] in ("mnist", "digit_scenes") else {}
    if preset["dataset"] == "digit_scenes":
        dataset_kwargs.update(SCENE_SIZES[size], **preset.pop("scene_kwargs", {}))
    config = TrainConfig(**preset, epochs=epochs, dataset_kwargs=dataset_kwargs, seed=seed)
    if variant == "under":
        config = replace(config, epochs=max(1, 2 * epochs // 5), lr=config.lr / 2)
    if variant == "random_labels":
        config = replace(config, random_labels=True)
    return replace(config, **overrides)


def trained_model(name: str, profile: str = "default", variant: str = "well", seed: int = 0,
                  device: str | torch.device = "auto", **overrides) -> TrainedModel:
    """Train (or load from the cache) a named preset; see :data:`PRESETS` and :func:`preset_config`."""
    return train_classifier(preset_config(name, profile, variant, seed, **overrides), device)
