"""``python -m noisylabels`` runs the CLI."""

import sys

from noisylabels.cli import main

sys.exit(main())
