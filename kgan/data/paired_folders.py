"""`paired:DIR_A,DIR_B`: a user's own aligned folders, DIR_A holding the `source` images and DIR_B the
`target` images, paired by file name (the path below each folder, so class subfolders pair too; labels
come from DIR_B's layout, as in `folder:PATH`).

Both folders are read like `folder:PATH`. A file without its partner or a pair of different sizes is
refused here, naming the file, instead of silently training on shifted or stretched pairs. Order is
DIR_B's sorted file order, so every run sees the same pairs in the same positions.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from kgan.data.folder import checked_files, open_files, scan
from kgan.data.source import Source, format_shape
from kgan.errors import DataError


def pair_files(dir_a: Path, dir_b: Path) -> tuple[list[Path], list[Path], list[int]]:
    """(DIR_A files, DIR_B files, labels) in DIR_B's order; DataError naming a file without a partner."""
    files_a, _ = checked_files(dir_a)
    files_b, labels = checked_files(dir_b)
    by_name = {p.relative_to(dir_a): p for p in files_a}
    names_b = {p.relative_to(dir_b) for p in files_b}
    for path in files_b:
        if path.relative_to(dir_b) not in by_name:
            raise DataError(f"{path}: no partner {dir_a / path.relative_to(dir_b)} in the source folder; "
                            "paired:DIR_A,DIR_B pairs images by file name")
    for path in files_a:
        if path.relative_to(dir_a) not in names_b:
            raise DataError(f"{path}: no partner {dir_b / path.relative_to(dir_a)} in the target folder; "
                            "paired:DIR_A,DIR_B pairs images by file name")
    return [by_name[p.relative_to(dir_b)] for p in files_b], files_b, labels


def paired_labels(dirs: tuple[Path, Path]) -> np.ndarray:
    """Labels from the folder layouts alone, without decoding an image."""
    return np.asarray(pair_files(*dirs)[2], np.int64)


def open_paired(name: str, dirs: tuple[Path, Path]) -> Source:
    """The target images as the Source, with the source images aligned to them (`Source.source_images`)."""
    files_a, files_b, labels = pair_files(*dirs)
    shapes_a, shapes_b = scan(files_a), scan(files_b)
    for path_a, path_b, a, b in zip(files_a, files_b, shapes_a, shapes_b):
        if a[:2] != b[:2]:
            raise DataError(f"{path_a}: is {format_shape(a[:2])} but its partner {path_b} is {format_shape(b[:2])}; "
                            "paired images must have the same size")
    target = open_files(name, files_b, labels, shapes_b)
    return dataclasses.replace(target, source_images=open_files(name, files_a, labels, shapes_a), images=2)
