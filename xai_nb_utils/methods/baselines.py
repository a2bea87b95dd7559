"""Baseline saliency methods: thin wrappers of captum and pytorch-grad-cam, and two reference maps.

Every function here has the registry signature ``fn(model, x, target, **kwargs)`` and is registered under its name.
The seeded ones (GradientShap, SmoothGrad, LIME, random) explain image by image under that image's seed
(``core.tensors.image_seeds``): captum draws from the global generators, which are seeded inside the call and
restored after it.
"""
import numpy as np
import torch

from xai_nb_utils.core.tensors import image_seeds, seeded, upsample_to
from xai_nb_utils.core.validate import check_positive_int
from xai_nb_utils.methods.registry import register_method
from xai_nb_utils.models.networks import get_layer

# ------------------------------------------------------------------------------------------------ captum


def _captum_gradient_method(name: str, captum_class: str, description: str, **attribute_defaults):
    def fn(model, x, target, **kwargs):
        import captum.attr

        explainer = getattr(captum.attr, captum_class)(model)
        return explainer.attribute(x.clone().requires_grad_(True), target=target, **{**attribute_defaults, **kwargs})

    fn.__doc__ = description
    register_method(name, "input", "gradient", description)(fn)


_captum_gradient_method("saliency", "Saliency", "captum Saliency: |d logit / d x| (abs=False for signed).", abs=True)
_captum_gradient_method("input_x_gradient", "InputXGradient", "captum InputXGradient: x * d logit / d x.")
_captum_gradient_method("integrated_gradients", "IntegratedGradients",
                        "captum IntegratedGradients, zero baseline, 32 steps.", n_steps=32, internal_batch_size=64)
_captum_gradient_method("guided_backprop", "GuidedBackprop", "captum GuidedBackprop.")
_captum_gradient_method("deconvolution", "Deconvolution", "captum Deconvolution.")
_captum_gradient_method("deeplift", "DeepLift", "captum DeepLift, zero baseline.")


def per_image_seeded(attribute, x, target, seed: int) -> torch.Tensor:
    """``attribute(image, target)`` for each image of the batch under its own seed, concatenated."""
    maps = []
    for image, image_target, image_seed in zip(x.split(1), target.split(1), image_seeds(x, seed)):
        with seeded(image_seed):
            maps.append(attribute(image, image_target))
    return torch.cat(maps)


@register_method("gradient_shap", "input", "gradient")
def gradient_shap(model, x, target, n_samples: int = 16, stdevs: float = 0.1, seed: int = 0, **kwargs):
    """captum GradientShap; baselines: a black image and a uniform-noise image drawn with ``seed``."""
    import captum.attr

    check_positive_int("n_samples", n_samples)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    baselines = torch.cat([torch.zeros_like(x[:1]), torch.rand(x[:1].shape, generator=generator).to(x.device)])
    explainer = captum.attr.GradientShap(model)
    return per_image_seeded(lambda image, t: explainer.attribute(
        image.clone().requires_grad_(True), baselines=baselines, target=t, n_samples=n_samples, stdevs=stdevs,
        **kwargs), x, target, seed)


@register_method("smoothgrad", "input", "gradient")
def smoothgrad(model, x, target, nt_samples: int = 16, stdevs: float = 0.15, seed: int = 0, **kwargs):
    """captum NoiseTunnel(Saliency) in SmoothGrad mode; ``stdevs`` in [0,1] pixel units."""
    import captum.attr

    check_positive_int("nt_samples", nt_samples)
    tunnel = captum.attr.NoiseTunnel(captum.attr.Saliency(model))
    return per_image_seeded(lambda image, t: tunnel.attribute(
        image.clone().requires_grad_(True), nt_type="smoothgrad", nt_samples=nt_samples,
        nt_samples_batch_size=nt_samples, stdevs=stdevs, target=t, abs=False, **kwargs), x, target, seed)


@register_method("layer_gradcam", "single", "cam")
def layer_gradcam(model, x, target, layer: str | None = None, relu: bool = True):
    """captum LayerGradCam at ``layer`` (default: the model's CAM layer), bilinearly upsampled to the input."""
    import captum.attr

    explainer = captum.attr.LayerGradCam(model, get_layer(model, layer))
    cam = explainer.attribute(x.clone().requires_grad_(True), target=target, relu_attributions=relu)
    return upsample_to(cam.sum(1, keepdim=True), x)


def grid_segments(x: torch.Tensor, cell: int) -> torch.Tensor:
    """Feature mask (N,1,H,W) of square ``cell`` x ``cell`` super-pixels, numbered row by row."""
    h, w = x.shape[-2:]
    rows = torch.arange(h, device=x.device) // cell
    cols = torch.arange(w, device=x.device) // cell
    ids = rows[:, None] * ((w + cell - 1) // cell) + cols[None, :]
    return ids.expand(len(x), 1, h, w).contiguous()


@register_method("lime", "input", "perturbation")
def lime(model, x, target, cell: int = 8, n_samples: int = 200, seed: int = 0, batch_size: int = 50):
    """captum Lime on a grid of ``cell``-pixel super-pixels (zero baseline); one weight per super-pixel."""
    import captum.attr

    for name, value in (("cell", cell), ("n_samples", n_samples), ("batch_size", batch_size)):
        check_positive_int(name, value)
    explainer = captum.attr.Lime(model)
    segments = grid_segments(x[:1], cell)
    return per_image_seeded(lambda image, t: explainer.attribute(
        image, target=t, feature_mask=segments, n_samples=n_samples, perturbations_per_eval=batch_size),
        x, target, seed)


# ------------------------------------------------------------------------------------------ pytorch-grad-cam


def _gradcam_method(name: str, cam_class: str, description: str, **init_kwargs):
    def fn(model, x, target, layer: str | None = None, **kwargs):
        import pytorch_grad_cam
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        with torch.enable_grad(), getattr(pytorch_grad_cam, cam_class)(
                model=model, target_layers=[get_layer(model, layer)], **{**init_kwargs, **kwargs}) as cam:
            maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(int(t)) for t in target])
        return torch.as_tensor(np.asarray(maps), dtype=torch.float32, device=x.device).unsqueeze(1)

    fn.__doc__ = description
    register_method(name, "single", "cam", description)(fn)


_gradcam_method("gradcam", "GradCAM", "pytorch-grad-cam GradCAM (min-max normalised by the library).")
_gradcam_method("gradcam_pp", "GradCAMPlusPlus", "pytorch-grad-cam GradCAM++.")
_gradcam_method("scorecam", "ScoreCAM", "pytorch-grad-cam ScoreCAM.")
_gradcam_method("ablationcam", "AblationCAM", "pytorch-grad-cam AblationCAM.")
_gradcam_method("xgradcam", "XGradCAM", "pytorch-grad-cam XGradCAM.")
_gradcam_method("layercam", "LayerCAM", "pytorch-grad-cam LayerCAM.")
_gradcam_method("hirescam", "HiResCAM", "pytorch-grad-cam HiResCAM.")


# ---------------------------------------------------------------------------------------------- references


@register_method("fake_cam", "single", "reference")
def fake_cam(model, x, target):
    """Fake-CAM (Opti-CAM paper): a uniform map of ones with the top-left pixel set to zero."""
    maps = torch.ones(len(x), 1, *x.shape[-2:], device=x.device)
    maps[:, :, 0, 0] = 0.0
    return maps


@register_method("random", "single", "reference")
def random_map(model, x, target, seed: int = 0):
    """Uniform random noise: the chance level of every metric."""
    maps = [torch.rand(1, 1, *x.shape[-2:], generator=torch.Generator(device="cpu").manual_seed(image_seed))
            for image_seed in image_seeds(x, seed)]
    return torch.cat(maps).to(x.device)
