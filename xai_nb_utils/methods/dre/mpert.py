"""MPert, the meaningful-perturbation baseline of DRE's tables (Fong & Vedaldi), preservation game.

Deterministic (no noise): each image's mask is optimised on its own (the loss is a sum of per-image terms and Adam
acts element-wise), so an image gets the same mask whichever images share its batch.
"""
import torch
import torch.nn.functional as F

from xai_nb_utils.core.tensors import perturb, total_variation
from xai_nb_utils.methods.registry import register_method
from xai_nb_utils.metrics.relevance import BLUR_SIGMA_FRACTION, blur


@register_method("mpert", "single", "optimisation")
def mpert_maps(model, x, target, iterations: int = 100, lr: float = 0.1, lambda_av: float = 0.5,
               lambda_tv: float = 2.0, mask_stride: int = 4, sigma_fraction: float = BLUR_SIGMA_FRACTION):
    """MPert (Fong & Vedaldi): per image, a mask sigmoid(w) at 1/mask_stride resolution, bilinearly upsampled,
    optimised with Adam to keep the target softmax probability of psi(I, M) (blurred background) high while the
    area mean(M) (lambda_av) and the smoothness Theta_tv (lambda_tv) stay small. Images do not interact."""
    background = blur(x, sigma_fraction)
    h, w = x.shape[-2:]
    logits = torch.zeros(len(x), 1, max(1, h // mask_stride), max(1, w // mask_stride), device=x.device,
                         requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=lr)
    upsample = lambda m: F.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)
    with torch.enable_grad():
        for _ in range(iterations):
            mask = upsample(torch.sigmoid(logits))
            probability = model(perturb(x, mask, background)).softmax(1).gather(1, target[:, None]).squeeze(1)
            tv = total_variation(mask)  # before the area term: the order of gradient accumulation sets the rounding
            loss = (-probability + lambda_av * mask.mean(dim=(1, 2, 3)) + lambda_tv * tv).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return upsample(torch.sigmoid(logits)).detach()
