"""Moved to edgexai.arg_types (shared by the pipeline config and the commands)."""

from edgexai.arg_types import *  # noqa: F401,F403
from edgexai.arg_types import _number  # noqa: F401
