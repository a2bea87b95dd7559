"""core: one interpretation of the profile name."""
import pytest

from xai_nb_utils.core.params import by_profile
from xai_nb_utils.models.training import preset_config


def test_by_profile_picks_and_falls_back_for_paper():
    assert by_profile("smoke", 1, 2, 3) == 1
    assert by_profile("paper", 1, 2) == 2 and by_profile("paper", 1, 2, 3) == 3


@pytest.mark.parametrize("call", [lambda: by_profile("smok", 1, 2), lambda: preset_config("mnist_cnn", profile="smok")])
def test_a_misspelt_profile_is_an_error_naming_the_allowed_values(call):
    with pytest.raises(ValueError, match=r"'profile' = 'smok'.*\['smoke', 'default', 'paper'\]"):
        call()
