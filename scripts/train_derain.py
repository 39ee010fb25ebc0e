"""Train the bundled deraining weights; see ``scripts/train_dehaze.py`` for the recipe and options.

Usage::

    python scripts/train_derain.py --data ../shared/data/normal \\
        --out pyisp_contrast/models/weights/derain_default.pt
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_dehaze import main

if __name__ == "__main__":
    sys.exit(main("derain"))
