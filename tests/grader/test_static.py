"""The static scan for forbidden imports and weight-loading shortcuts (grader/static.py)."""
import textwrap

from grader.static import scan_imports, scan_shortcuts

FORBIDDEN = ["torch", "scipy", "numpy.fft"]


def _found(src, forbidden=FORBIDDEN):
    return [(f.module, f.line, f.how) for f in scan_imports(textwrap.dedent(src), forbidden)]


def test_imports_from_imports_and_dynamic_imports():
    src = """\
    import numpy as np
    import torch.nn as nn
    from scipy.signal import correlate
    from numpy import fft
    def f():
        m = __import__("scipy")
        return importlib.import_module("torch.nn.functional")
    """
    assert _found(src) == [("torch.nn", 2, "import"), ("scipy.signal", 3, "from"), ("numpy.fft", 4, "from"),
                           ("scipy", 6, "dynamic"), ("torch.nn.functional", 7, "dynamic")]


def test_forbidden_submodule_reached_as_an_attribute():
    """numpy imports numpy.fft itself, so the runtime blocker never sees ``np.fft``; the scan does."""
    src = """\
    import numpy as np
    import numpy
    from numpy import fft as F
    def conv(x, w):
        a = np.fft.rfft2(x)
        b = numpy.fft.irfft2(a * np.fft.rfft2(w))
        return F.ifft(b), np.linalg.norm(b), np.fftshift
    """
    assert _found(src) == [("numpy.fft", 3, "from"), ("numpy.fft", 5, "attribute"),
                           ("numpy.fft", 6, "attribute"), ("numpy.fft", 7, "attribute")]


def test_names_that_are_not_modules_are_not_flagged():
    src = """\
    import numpy as np
    class Net:
        fft = None
    torch = Net()
    x = torch.fft.rfft        # a local object called torch, never imported
    y = np.linalg.fft_like    # numpy.linalg is allowed
    """
    assert _found(src) == []
    assert _found("import numpy as np\nx = np.fft.fft\n", ["numpy"]) == [("numpy", 1, "import")]
    assert _found("def broken(:\n") == []


def test_grader_and_reference_are_always_forbidden():
    assert [f.module for f in scan_imports("import reference.nn\nfrom grader import judge\n", [])] == \
        ["reference.nn", "grader"]


def test_weight_loading_shortcuts():
    src = textwrap.dedent("""\
    import torch, pickle
    def build_model():
        m = Net()
        m.load_state_dict(torch.load("weights.pt"))
        return m
    def train(model, x, y, **kw):
        state = pickle.loads(open("w.bin", "rb").read())
    """)
    lines = [line for line, _ in scan_shortcuts(src)]
    assert 4 in lines and 7 in lines
    assert scan_shortcuts(src, allow_weight_files=True) == []


def test_messages_name_the_module_and_the_line():
    msgs = [f.message() for f in scan_imports("import numpy as np\nimport scipy\ny = np.fft.fft\n", FORBIDDEN)]
    assert msgs == ["imports `scipy` (line 2), which this assignment does not allow",
                    "uses `numpy.fft` (line 3), which this assignment does not allow"]


def test_imports_the_grading_environment_lacks_are_found_once_unless_optional():
    from grader.static import installed_modules, scan_not_installed

    src = ("import numpy as np, os\nfrom tqdm import tqdm\nimport utils.helpers\nimport torch\n"
           "try:\n    import seaborn\nexcept ImportError:\n    seaborn = None\n"
           "try:\n    import wandb\nexcept (ValueError, ModuleNotFoundError):\n    pass\n"
           "try:\n    import rich\nexcept KeyError:\n    pass\n"
           "def f():\n    import tqdm.auto\n    from . import sibling\n    from __future__ import annotations\n")
    found = scan_not_installed(src, ["numpy"], forbidden=["torch"])
    assert [(f.module, f.line) for f in found] == [("tqdm", 2), ("utils", 3), ("rich", 14)]
    assert all(f.how == "not_installed" for f in found)
    assert "`tqdm` (line 2), which is not installed where this assignment is graded" in found[0].message()
    assert scan_not_installed("def f(:\n", ["numpy"]) == []          # unparsable: the loader says so
    # this environment's list: its packages, never a forbidden one or its distribution's other names
    names = installed_modules(["torch"])
    assert "numpy" in names and not {"torch", "functorch", "grader", "reference"} & set(names)
