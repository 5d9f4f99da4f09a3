"""`python -m capmon` is `capmon`."""

import sys

from .cli import main

sys.exit(main())
