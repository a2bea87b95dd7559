"""Small models for the embedded data. Every image model takes [0,1] pixels and normalises inside.

``model.forward_normalized(z)`` runs the network on an already-normalised input, so metrics can mask in either
space; ``model.cam_layer_name`` names the layer CAM methods use by default. Both divide the logits by the model's
``temperature`` buffer (1 unless training fitted it: temperature scaling), so every consumer sees calibrated
logits.
"""
import torch
from torch import nn


class Normalizer(nn.Module):
    """Per-channel (x - mean) / std."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class NormalizedClassifier(nn.Module):
    """Base: ``forward(x) = forward_normalized(normalizer(x))`` and ``forward_normalized(z) = raw_logits(z) / T``
    with the temperature ``T`` a buffer (saved with the weights). Subclasses implement ``raw_logits``."""

    cam_layer_name = ""

    def __init__(self, mean, std):
        super().__init__()
        self.normalizer = Normalizer(mean, std)
        self.register_buffer("temperature", torch.ones(()))

    def raw_logits(self, z):
        """The network's logits on a normalised input, before the temperature."""
        raise NotImplementedError

    def forward_normalized(self, z):
        return self.raw_logits(z) / self.temperature

    def forward(self, x):
        return self.forward_normalized(self.normalizer(x))


class MnistCNN(NormalizedClassifier):
    """The GGIG paper's MNIST CNN: conv 32 5x5, max-pool 2, ReLU, conv 64 5x5, max-pool 2, ReLU, FC 1024 -> 10."""

    cam_layer_name = "features.conv2"
    input_shape = (1, 28, 28)

    def __init__(self, num_classes: int = 10):
        super().__init__(mean=[0.1307], std=[0.3081])
        self.features = nn.Sequential()
        self.features.add_module("conv1", nn.Conv2d(1, 32, 5))
        self.features.add_module("pool1", nn.MaxPool2d(2))
        self.features.add_module("relu1", nn.ReLU())
        self.features.add_module("conv2", nn.Conv2d(32, 64, 5))
        self.features.add_module("pool2", nn.MaxPool2d(2))
        self.features.add_module("relu2", nn.ReLU())
        self.classifier = nn.Linear(64 * 4 * 4, num_classes)

    def raw_logits(self, z):
        return self.classifier(self.features(z).flatten(1))


class BasicBlock(nn.Module):
    """Residual block (two 3x3 convs) with a strided 1x1 projection shortcut; separate ReLU modules."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        self.relu2 = nn.ReLU()

    def forward(self, z):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(z)))))
        return self.relu2(out + self.shortcut(z))


class SceneCNN(NormalizedClassifier):
    """A small residual CNN for DigitScenes: stem (full resolution) and three stages at 1/2, 1/4, 1/8.

    At 64x64 input the stages output 32x32x32, 16x16x64 and 8x8x128. ``head="gap"``: global average pooling and a
    linear layer follow, so CAM at ``stage3`` is the classical CAM setting, in which Grad-CAM, XGrad-CAM and
    HiRes-CAM are the same map (the gradient of the logit w.r.t. ``stage3`` is constant over positions).
    ``head="conv"``: a 1x1 convolution, batch norm and ReLU (module ``head``) come before the pooling, so the
    gradient varies over positions and those methods differ, as after VGG16's last convolution.
    """

    cam_layer_name = "stage3"
    stage_names = ("stem", "stage1", "stage2", "stage3")
    stage_channels = (16, 32, 64, 128)
    heads = ("gap", "conv")

    def __init__(self, num_classes: int = 10, head: str = "gap"):
        super().__init__(mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])
        if head not in self.heads:
            raise ValueError(f"head = {head!r}; choose one of {list(self.heads)}")
        c = self.stage_channels
        self.stem = nn.Sequential(nn.Conv2d(3, c[0], 3, 1, 1, bias=False), nn.BatchNorm2d(c[0]), nn.ReLU())
        self.stage1 = BasicBlock(c[0], c[1], 2)
        self.stage2 = BasicBlock(c[1], c[2], 2)
        self.stage3 = BasicBlock(c[2], c[3], 2)
        self.head = (nn.Sequential(nn.Conv2d(c[3], c[3], 1, bias=False), nn.BatchNorm2d(c[3]), nn.ReLU())
                     if head == "conv" else nn.Identity())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c[3], num_classes)

    def stages(self, z):
        """Feature maps of every stage on a normalised input (for multi-scale methods such as DRE)."""
        features = []
        for name in self.stage_names:
            z = getattr(self, name)(z)
            features.append(z)
        return features

    def raw_logits(self, z):
        return self.fc(self.pool(self.head(self.stages(z)[-1])).flatten(1))


class TabularMLP(nn.Module):
    """Two hidden layers with ReLU; inputs are standardised features (N, D)."""

    def __init__(self, num_features: int, num_classes: int, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(num_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.net(x)


def get_layer(model: nn.Module, name: str | None = None) -> nn.Module:
    """The sub-module called ``name`` (default: the model's ``cam_layer_name``), with a clear error."""
    name = name or getattr(model, "cam_layer_name", "")
    modules = dict(model.named_modules())
    if not name or name not in modules:
        choices = [n for n in modules if n]
        raise ValueError(f"layer {name!r} not found in {type(model).__name__}; choose one of {choices}")
    return modules[name]


def make_relus_not_inplace(model: nn.Module) -> nn.Module:
    """Attribution hooks need ReLUs that do not overwrite their input."""
    for module in model.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
    return model
