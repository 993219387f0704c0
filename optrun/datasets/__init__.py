"""Small real data sets shipped inside the package, usable offline: ``data: {dataset: NAME}``.

``digits``: the optical recognition of handwritten digits data of the UCI Machine Learning
Repository (E. Alpaydin and C. Kaynak, 1998;
https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits), licence CC BY
4.0. It is that data set's test part (``optdigits.tes``: 1,797 samples written by 13 people): each
sample is a 32 x 32 bitmap of a handwritten digit counted in 4 x 4 blocks, so 64 features, whole
numbers 0..16, and the digit 0..9 as the label (174 to 183 samples a class). The file
``digits.csv.gz`` is byte for byte the copy scikit-learn 1.9.1 ships
(``sklearn/datasets/data/digits.csv.gz``; 64 feature columns, then the label, no header); its
SHA-256 is checked on every load.

Each entry of :data:`DATASETS` says what a data set is (:class:`Shipped`), so that a config is
validated without reading the file; :func:`resource` is its packaged file (read and checked by
:func:`optrun.objectives.data_prep.arrays`: this package reads nothing) and :func:`location` says
where it is on disk (f* of a problem on it is cached beside it, as beside any data file, when that
folder can be written).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Shipped:
    """A shipped data set: its file in this package (CSV, gzip-compressed, no header, the label
    last), shape, the objective kind it fits, a one-line ``description``, and where it is from."""

    name: str
    description: str
    file: str
    sha256: str
    samples: int
    features: int
    classes: int
    source: str
    licence: str


DATASETS: dict[str, Shipped] = {
    "digits": Shipped(
        name="digits",
        description="UCI handwritten digits: 1,797 8x8 images (64 features 0..16), 10 classes",
        file="digits.csv.gz",
        sha256="09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
        samples=1797,
        features=64,
        classes=10,
        source="UCI ML Repository, Optical Recognition of Handwritten Digits (Alpaydin & Kaynak 1998), "
        "test set, as shipped by scikit-learn 1.9.1",
        licence="CC BY 4.0",
    ),
}


def dataset_names() -> tuple[tuple[str, str], ...]:
    """``(name, one-line description)`` of every shipped data set, for listings."""
    return tuple((s.name, s.description) for s in DATASETS.values())


def location(name: str) -> Path | None:
    """The file of the shipped data set ``name`` on disk (None when the package is not a folder,
    e.g. imported from a zip file)."""
    where = resources.files(__name__).joinpath(DATASETS[name].file)
    return where if isinstance(where, Path) else None


def resource(name: str) -> Any:
    """The packaged file of the shipped data set ``name`` (a ``Traversable``: read it with
    ``read_bytes``; :func:`optrun.objectives.data_prep.shipped` does, and checks its SHA-256)."""
    return resources.files(__name__).joinpath(DATASETS[name].file)


__all__ = ["DATASETS", "Shipped", "dataset_names", "location", "resource"]
