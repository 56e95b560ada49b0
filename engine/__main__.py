"""``python -m engine {train,recommend,bench,...}``."""

import sys

from engine.cli import main

sys.exit(main())
