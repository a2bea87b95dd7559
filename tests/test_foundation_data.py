import numpy as np
import pytest
import torch

from xai_nb_utils.core import cache
from xai_nb_utils.data import embedded as data
from xai_nb_utils.core.paths import MissingDataError


def test_mnist_split_is_stratified_disjoint_and_seeded():
    a, b = data.load_mnist(seed=0), data.load_mnist(seed=0)
    assert (len(a.train), len(a.val), len(a.test)) == (3500, 500, 1000)
    assert torch.equal(a.test.x, b.test.x)
    assert torch.bincount(a.test.y).tolist() == [100] * 10  # 20 % of 500 per class
    assert 0.0 <= float(a.train.x.min()) and float(a.train.x.max()) <= 1.0
    train_rows = {r.numpy().tobytes() for r in a.train.x.flatten(1)}
    assert not any(r.numpy().tobytes() in train_rows for r in a.test.x.flatten(1))
    assert not torch.equal(data.load_mnist(seed=1).test.x, a.test.x)


def test_mod3_split_follows_the_gax_appendix():
    labels = np.array([0, 0, 0, 0, 1, 1, 1])
    train, val, test = data.mod3_split(labels)
    assert train.tolist() == [0, 3, 4] and val.tolist() == [1, 5] and test.tolist() == [2, 6]


@pytest.mark.parametrize("name", data.TABULAR_SETS)
def test_tabular_sets_are_standardised_on_train(name):
    ds = data.load_tabular(name)
    x_train = ds.train[0]
    assert torch.allclose(x_train.mean(0), torch.zeros(ds.num_features), atol=1e-4)
    assert len(ds.train[1]) + len(ds.val[1]) + len(ds.test[1]) > 100


def test_unknown_tabular_set_names_the_parameter():
    with pytest.raises(ValueError, match="'name'.*wine"):
        data.load_tabular("iris")


def test_digit_scenes_are_deterministic_cached_and_boxed(tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_CACHE_DIR", str(tmp_path))
    kwargs = dict(n_train=40, n_val=4, n_test=8, size=48, marker_rate=1.0, marker_false_rate=0.0, seed=3)
    first = data.load_digit_scenes(**kwargs)
    assert len(list(tmp_path.rglob("digit_scenes-*.pt"))) == 1
    again = data.load_digit_scenes(**kwargs)
    assert torch.equal(first.train.x, again.train.x)
    x, boxes = first.train.x, first.train.boxes
    assert x.shape == (40, 3, 48, 48)
    assert bool(((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])).all())
    assert int(boxes.max()) <= 48 and int(boxes.min()) >= 0
    # the marker sits on exactly the images of the marker class
    assert torch.equal(first.train.marker, first.train.y == 0)
    clean = data.load_digit_scenes(**{**kwargs, "remove_markers": True})
    assert not clean.train.marker.any()
    assert torch.equal(clean.train.y, first.train.y)
    unmarked = ~first.train.marker
    assert torch.equal(clean.train.x[unmarked], first.train.x[unmarked])
    # removing the markers gives the scenes generated without markers, under the same description (one cache entry,
    # so the model trained on the cleaned scenes is the marker-free model)
    plain = data.load_digit_scenes(**{**kwargs, "marker_rate": 0.0})
    assert clean.info == plain.info and torch.equal(clean.train.x, plain.train.x)


def test_box_masks_cover_exactly_the_box():
    split = data.ImageSplit(torch.zeros(1, 3, 5, 6), torch.zeros(1, dtype=torch.long), torch.tensor([[1, 2, 4, 5]]))
    mask = split.box_masks()[0, 0]
    assert int(mask.sum()) == 3 * 3 and bool(mask[2, 1]) and not bool(mask[1, 1]) and not bool(mask[2, 4])


def test_cache_detects_corruption_and_rebuilds(tmp_path):
    path = tmp_path / "obj.pt"
    assert cache.cached_torch(path, lambda: {"a": 1}) == {"a": 1}
    assert cache.cached_torch(path, lambda: {"a": 2}) == {"a": 1}  # reused
    path.write_bytes(path.read_bytes()[:-20])  # truncated, as after a crash mid-copy
    assert cache.load_torch(path) is None
    assert cache.cached_torch(path, lambda: {"a": 3}) == {"a": 3}
    assert not list(tmp_path.glob("*.tmp"))


def test_interrupted_build_leaves_no_cache_file(tmp_path):
    path = tmp_path / "obj.pt"

    def failing_build():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.cached_torch(path, failing_build)
    assert not path.exists()


def test_missing_data_error_is_a_file_not_found_error():
    assert issubclass(MissingDataError, FileNotFoundError)


def test_with_marker_stamps_every_image_whatever_its_channels():
    split = data.ImageSplit(torch.full((2, 1, 28, 28), 0.5), torch.tensor([3, 4]))
    stamped = data.with_marker(split)
    assert stamped.marker.all() and stamped.x[:, :, 1, 1].eq(1).all()
    assert torch.equal(stamped.x[:, :, 10:, 10:], split.x[:, :, 10:, 10:])


def test_fingerprint_tells_apart_what_changes_a_result():
    x = torch.arange(12.0).view(3, 4)
    model = torch.nn.Linear(4, 2)
    same = cache.fingerprint({"x": x.clone(), "n": 3, "model": model})
    assert same == cache.fingerprint({"n": 3, "model": model, "x": x})  # key order does not matter
    changed = [{"x": x.view(4, 3), "n": 3, "model": model},  # same values, other shape
               {"x": x.double(), "n": 3, "model": model},
               {"x": x, "n": 3.0, "model": model},  # 3.0 is not 3
               {"x": x, "n": 3, "model": model.train(False)}]  # eval mode
    assert len({same, *map(cache.fingerprint, changed)}) == 1 + len(changed)
    with torch.no_grad():
        model.weight[0, 0] += 1
    assert cache.fingerprint({"x": x, "n": 3, "model": model.train(True)}) != same
    one_of_a_column = torch.arange(4000).view(4, 1000)[:, 0][:1]  # one element, stride 1000
    assert cache.fingerprint(one_of_a_column) == cache.fingerprint(torch.tensor([0]))
    assert cache.fingerprint(x.t()) == cache.fingerprint(x.t().contiguous())
    with pytest.raises(TypeError, match="cannot fingerprint a object"):
        cache.fingerprint(object())


def test_cached_computation_runs_once_per_arguments(tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_TASK_CACHE_DIR", str(tmp_path))
    calls = []

    @cache.cached_computation("doubled")
    def doubled(x, factor=2):
        calls.append(factor)
        return {"y": x * factor}

    x = torch.ones(3)
    assert torch.equal(doubled(x)["y"], 2 * x)
    assert torch.equal(doubled(x, factor=2)["y"], 2 * x)  # the default filled in: the same key
    assert torch.equal(doubled(x, 3)["y"], 3 * x)
    assert calls == [2, 3]
    assert len(list((tmp_path / "doubled").glob("*.pt"))) == 2
    monkeypatch.setattr(cache, "source_fingerprint", lambda: "edited")  # an edit of the package: computed afresh
    doubled(x)
    assert calls == [2, 3, 2]
