"""Run the aiwatch command line as ``python -m aiwatch``."""

import sys

from aiwatch.cli import main

sys.exit(main())
