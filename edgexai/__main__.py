"""`python -m edgexai` is the `edgexai` command (torchrun uses this form)."""

import sys

from edgexai.cli import main

sys.exit(main())
