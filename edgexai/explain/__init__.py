"""Saliency maps (VG, IG, SmoothGrad, Grad-CAM) and the analytic CAM head exported in-graph.

The package is also the Python API's `edgexai.explain(build_dir, images, labels, ...)`: one name
cannot be both a subpackage and a function of `edgexai` (importing the subpackage rebinds the
attribute), so calling the package runs `edgexai.api.explanations.explain` (its documentation:
`help(edgexai.api.explain)`).
"""

import sys
import types


class _CallablePackage(types.ModuleType):
    """This package's module type: calling it is `edgexai.api.explanations.explain`."""

    def __call__(self, *args, **kwargs):
        from edgexai.api.explanations import explain

        return explain(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
