"""What the benchmark scripts share (run them as ``python benchmarks/<name>.py``, so this module is importable)."""
from xai_nb_utils import trained_model


def scene_images(n: int):
    """The smoke-profile SceneCNN (trained on first use) and its first ``n`` test images and labels, on the CPU."""
    trained = trained_model("scene_cnn", "smoke", device="cpu")
    test = trained.dataset.test
    return trained.model, test.x[:n], test.y[:n]


def integer_arguments(description: str, **defaults) -> dict:
    """Parse ``--name N`` integer options (name -> default) with ``description`` as the help text."""
    import argparse

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, default in defaults.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    return vars(parser.parse_args())
