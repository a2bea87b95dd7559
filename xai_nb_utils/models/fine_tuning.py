"""The GAX paper's chest X-ray pneumonia classifiers (Tjoa & Guan, Sec. 3, Table 1): ImageNet-pretrained torchvision
networks fine-tuned for NORMAL vs PNEUMONIA until a target validation accuracy, cached like the embedded models.

The paper keeps "the first 8 modules" of ResNet34 (conv1 ... layer4) and "the first 6" of AlexNet, "plus a new FC
layer with two output channels". We read that as the pretrained network with its last fully-connected layer
replaced by a two-output one (ResNet34's average pooling has no parameters; AlexNet keeps its classifier up to the
last layer), so the Grad-CAM layers keep their torchvision names. X-rays (stacked to 3 channels) get the ImageNet
normalisation inside the model, as the pretrained weights expect.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn
from xai_nb_utils.core.cache import cached_torch, config_key
from xai_nb_utils.core.evaluation import predicted_classes
from xai_nb_utils.core.paths import cache_dir
from xai_nb_utils.core.params import by_profile, seed_everything
from xai_nb_utils.core.progress import tqdm
from xai_nb_utils.models.pretrained import ARCHITECTURES, pretrained_net, weights_file, wrap

#: the paper's pneumonia models: name -> (architecture, target validation accuracy). Its AlexNet stopped at 0.8
#: for both targets, so only Alexnet_sub exists (Table 1).
GAX_CHEST_MODELS = {"Resnet34_1": ("resnet34", 0.99), "Resnet34_sub": ("resnet34", 0.8), "Alexnet_sub": ("alexnet", 0.8)}


@dataclass(frozen=True)
class FineTuning:
    """The paper's schedule: Adam (lr 1e-3, betas (0.5, 0.999), no weight decay), batches of 32 drawn uniformly at
    random; stop at the first check after ``min_iterations`` where the validation accuracy reaches the target, or
    at ``max_iterations``. ``check_every`` is ours (the paper does not say how often it validates)."""

    target_val_accuracy: float
    min_iterations: int = 2400
    max_iterations: int = 240_000
    check_every: int = 200
    batch_size: int = 32
    lr: float = 1e-3
    betas: tuple = (0.5, 0.999)
    seed: int = 0


#: ``paper_scale="tiny"``: the same loop for a handful of iterations on fixture data
TINY_SCHEDULE = dict(min_iterations=2, max_iterations=4, check_every=2, batch_size=4)


def schedule(name: str, seed: int = 0, profile: str = "paper") -> FineTuning:
    """The fine-tuning schedule of one of :data:`GAX_CHEST_MODELS` (tiny on ``paper_scale="tiny"``)."""
    full = FineTuning(GAX_CHEST_MODELS[name][1], seed=seed)
    return by_profile(profile, replace(full, **TINY_SCHEDULE), full)


def two_class_head(net: nn.Module) -> nn.Module:
    """``net`` with its last fully-connected layer replaced by a freshly initialised two-output one."""
    if hasattr(net, "fc"):
        net.fc = nn.Linear(net.fc.in_features, 2)
    else:
        net.classifier[-1] = nn.Linear(net.classifier[-1].in_features, 2)
    return net


def split_accuracy(model: nn.Module, split, device, batch_size: int = 64) -> float:
    """Accuracy of ``model`` on a lazy image split, read in batches."""
    model.eval()
    correct = sum(int((predicted_classes(model, part.x.to(device)).cpu() == part.y).sum())
                  for part in split.batches(batch_size))
    return correct / len(split)


def _fine_tune(arch: str, dataset, plan: FineTuning, device) -> dict:
    seed_everything(plan.seed)
    model = wrap(two_class_head(pretrained_net(arch)), arch, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=plan.lr, betas=plan.betas, weight_decay=0.0)
    generator = torch.Generator().manual_seed(plan.seed)
    history, val_accuracy = [], float("nan")
    bar = tqdm(range(1, plan.max_iterations + 1), desc=f"fine-tuning {arch} on chest X-ray (target "
                                                          f"{plan.target_val_accuracy:.2f})")
    for iteration in bar:
        model.train()
        batch = dataset.train.subset(torch.randint(len(dataset.train), (plan.batch_size,), generator=generator))
        loss = F.cross_entropy(model(batch.x.to(device)), batch.y.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if iteration >= plan.min_iterations and iteration % plan.check_every == 0:
            val_accuracy = split_accuracy(model, dataset.val, device)
            history.append({"iteration": iteration, "loss": loss.item(), "val_accuracy": val_accuracy})
            bar.set_postfix(val_accuracy=f"{val_accuracy:.3f}")
            if val_accuracy >= plan.target_val_accuracy:
                break
    return {"state_dict": {k: v.cpu() for k, v in model.state_dict().items()}, "history": history,
            "iterations": iteration, "val_accuracy": val_accuracy,
            "test_accuracy": split_accuracy(model, dataset.test, device)}


def fine_tuned_chest_model(name: str, dataset, device="cpu", seed: int = 0) -> tuple:
    """One of :data:`GAX_CHEST_MODELS` fine-tuned on ``dataset`` (:func:`data.external.load_chest_xray`), trained
    once and cached (key: schedule, dataset, ImageNet weights file). Returns ``(model, facts)``: the model in eval
    mode on ``device``, and its iterations, validation / test accuracy and whether it reached its target."""
    arch = GAX_CHEST_MODELS[name][0]
    plan = schedule(name, seed)
    weights = weights_file(arch)
    key = config_key({"arch": arch, "plan": asdict(plan), "dataset": dataset.info,
                      "weights": [weights.name, weights.stat().st_size]})
    saved = cached_torch(cache_dir() / "models" / f"chest-{name}-{key}.pt",
                         lambda: _fine_tune(arch, dataset, plan, device),
                         ("state_dict", "history", "iterations", "val_accuracy", "test_accuracy"))
    model = wrap(two_class_head(ARCHITECTURES[arch].build(weights=None)), arch, device)
    model.load_state_dict(saved["state_dict"])
    facts = {key: saved[key] for key in ("iterations", "val_accuracy", "test_accuracy")}
    facts["reached_target"] = bool(saved["val_accuracy"] >= plan.target_val_accuracy)
    return model, facts
