"""How much of a saliency map falls inside a region (a spurious marker, a background, an object box).

One function, :func:`region_share`, with the two conventions the notebooks use: the share of the map's total
magnitude inside the region, or that share divided by the region's area share (the *lift*: 1 = no preference).
"""
import torch

from xai_nb_utils.core.params import check_choice
from xai_nb_utils.core.tensors import reduce_channels

MAGNITUDES = ("abs", "positive")


def map_magnitude(maps: torch.Tensor, magnitude: str = "abs") -> torch.Tensor:
    """(N, C, H, W) -> (N, 1, H, W): ``abs`` sums |map| over channels, ``positive`` clips the channel sum at 0."""
    check_choice("magnitude", magnitude, MAGNITUDES)
    if magnitude == "abs":
        return reduce_channels(maps, "abs_sum")
    return reduce_channels(maps, "sum").clamp(min=0)


def region_share(maps: torch.Tensor, region: torch.Tensor, magnitude: str = "abs",
                 relative_to_area: bool = False) -> torch.Tensor:
    """Per image: share of the map's magnitude inside ``region`` (bool or {0,1}, broadcastable to (N, 1, H, W)),
    shape (N,). With ``relative_to_area`` the share is divided by the region's share of the pixels (the lift)."""
    mass = map_magnitude(maps, magnitude)
    region = region.to(mass.dtype).expand_as(mass)
    share = (mass * region).flatten(1).sum(1) / mass.flatten(1).sum(1).clamp_min(1e-12)
    if not relative_to_area:
        return share
    return share / region.flatten(1).mean(1).clamp_min(1e-12)
