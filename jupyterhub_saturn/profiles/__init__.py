"""Profiles: the catalog of sizes, GPUs, disks and images, and the per-user selection. Pure Python."""

from .catalog import KINDS, NO_GPU, Catalog, Choice, Disk, Gpu, Image, Size, parse_catalog
from .selection import Selection, default_choice, entitled_choices, select

__all__ = [
    "KINDS", "NO_GPU", "Catalog", "Choice", "Disk", "Gpu", "Image", "Size", "parse_catalog",
    "Selection", "default_choice", "entitled_choices", "select",
]
