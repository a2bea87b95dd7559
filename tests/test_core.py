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


def test_paper_scale_tiny_gives_the_smoke_values_on_paper_until_the_next_setup(tmp_path, monkeypatch):
    from xai_nb_utils.core.params import setup
    from xai_nb_utils.data.external import paper_crop

    monkeypatch.setenv("XAI_REPORTS_DIR", str(tmp_path))
    try:
        run = setup("t", profile="paper", paper_scale="tiny")
        assert run.pick(1, 2, 3) == 1 and by_profile("paper", 1, 2, 3) == 1 and by_profile("default", 1, 2) == 2
        assert preset_config("scene_cnn", "paper") == preset_config("scene_cnn", "smoke")
        assert paper_crop() == {"size": 32, "resize": 37}
    finally:
        setup("t", profile="paper")
    assert by_profile("paper", 1, 2, 3) == 3 and paper_crop() == {"size": 224, "resize": 256}
    with pytest.raises(ValueError, match="'paper_scale' = 'tiny' applies to profile 'paper' only"):
        setup("t", profile="smoke", paper_scale="tiny")
