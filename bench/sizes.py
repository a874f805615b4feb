"""The full arrangement-size sweep of the README (issue 5).

Runs ``python -m exactrelu sizes`` with progress, writes ``bench/sizes.json`` and the figure
``docs/sizes.png``; extra arguments are passed on (e.g. ``--max-seconds 600`` or ``--quick``).

    python bench/sizes.py                    # the full sweep (about 30 minutes on 2 cores)
    python bench/sizes.py --quick            # the quick one
"""

import os
import sys

from exactrelu.cli import main

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    argv = ["sizes", "--progress", "--json", os.path.join(HERE, "sizes.json"),
            "--plot", os.path.join(HERE, "..", "docs", "sizes.png"), *sys.argv[1:]]
    raise SystemExit(main(argv))
