"""Import hook for subprocess tests: make the training stack unimportable, as on a Jetson image.

Use as `python -c "import blocktorch; ..."` with this folder on PYTHONPATH.
"""

import importlib.abc
import sys

BLOCKED = {"torch", "torchvision", "captum", "torch_pruning"}


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by test)", name=name)
        return None


sys.meta_path.insert(0, _Blocker())
