"""An environment where an installed distribution is absent: this interpreter without its
site-packages (`python -S`), given instead a folder that links to every entry of them but the
named distributions' own, so that what a user without them sees can be run for real."""

from __future__ import annotations

import os
import re
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def owner(entry: str) -> str:
    """The distribution a site-packages entry belongs to, normalised: `hypercorn` for
    `hypercorn/` and `Hypercorn-0.18.0.dist-info`."""
    return re.split(r"[-.]", entry, maxsplit=1)[0].lower().replace("_", "-")


def python_without(folder: Path, *distributions: str) -> tuple[list[str], dict[str, str]]:
    """The command line prefix and environment of a Python lacking the distributions."""
    site = Path(sysconfig.get_paths()["purelib"])
    folder.mkdir(parents=True, exist_ok=True)
    for entry in site.iterdir():
        if owner(entry.name) not in distributions and not entry.name.endswith(".pth"):
            (folder / entry.name).symlink_to(entry)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(REPO), str(folder)))}
    return [sys.executable, "-S"], env
