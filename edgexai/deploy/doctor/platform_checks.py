"""Doctor's platform checks: the Python interpreter and the JetPack (L4T) release.

Why: JetPack 6's TensorRT and OpenCV bindings exist only for its system Python 3.10, so a wrong
interpreter or an older JetPack breaks everything after it. Stdlib only; never torch.
"""

from __future__ import annotations

import platform
import re
import sys
from pathlib import Path

from edgexai.deploy.doctor.findings import FAIL, INFO, OK, WARN, Check

# L4T release → JetPack release (Jetson Linux release notes); only JetPack 6 is this kit's target.
JETPACK_OF_L4T = {
    "36.2.0": "6.0 DP",
    "36.3.0": "6.0",
    "36.4.0": "6.1",
    "36.4.3": "6.2",
    "36.4.4": "6.2.1",
}


def check_python() -> Check:
    v = sys.version_info
    text = platform.python_version()
    if v < (3, 10):
        return Check(
            "python",
            FAIL,
            f"Python {text} ({sys.executable})",
            "edgexai needs Python >= 3.10 (JetPack 6 ships 3.10)",
        )
    if jetson_release()[0] and (v.major, v.minor) != (3, 10):
        return Check(
            "python",
            WARN,
            f"Python {text} ({sys.executable})",
            "JetPack 6's TensorRT and OpenCV bindings are built for the system Python "
            "3.10: use /usr/bin/python3 for the venv",
        )
    return Check("python", OK, f"Python {text} ({sys.executable})")


def jetson_release(path: str = "/etc/nv_tegra_release") -> tuple[str | None, str | None]:
    """(L4T release like '36.4.3', JetPack release like '6.2'), or (None, None) off a Jetson."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None, None
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    if not m:
        return None, None
    l4t = f"{m.group(1)}.{m.group(2)}"
    jp = JETPACK_OF_L4T.get(l4t) or ("6.x" if l4t.startswith("36.") else None)
    return l4t, jp


def check_jetpack(path: str = "/etc/nv_tegra_release") -> Check:
    l4t, jp = jetson_release(path)
    if l4t is None:
        return Check("jetpack", INFO, f"not a Jetson ({path} absent): desktop/CPU checks only")
    if not l4t.startswith("36."):
        return Check(
            "jetpack",
            WARN,
            f"L4T R{l4t}: this kit targets JetPack 6 (L4T R36.x)",
            "flash JetPack 6.x (TensorRT 10.3, CUDA 12.6) with SDK Manager",
        )
    return Check("jetpack", OK, f"L4T R{l4t}" + (f" (JetPack {jp})" if jp else ""))
