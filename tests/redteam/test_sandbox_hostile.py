"""Red team, issue 11 (sandbox side): classes 2, 4, 7, 8 and 10.

Each test is an attack that succeeded before the fix; the slow ones run a real sandbox (under
bubblewrap where it is installed, as in CI)."""
from __future__ import annotations

import base64
import textwrap

import numpy as np
import pytest

from grader.static import scan_imports, scan_shortcuts


# ------------------------------------------------------------------ class 10: weight-file rule
WEIGHT_TRICKS = {
    "alias": "import torch as t\nw = t.load('w.pt')\n",
    "from_import": "from torch import load\nw = load('w.pt')\n",
    "from_import_alias": "from numpy import load as L\nw = L('w.npy')\n",
    "getattr_literal": "import torch as t\nw = getattr(t, 'load')('w.pt')\n",
    "getattr_computed": "import torch as t\nw = getattr(t, 'lo' + 'ad')('w.pt')\n",
    "getattr_then_attr": "import torch\nw = getattr(torch, 'jit').load('m.pt')\n",
    "reference_kept": "import torch\nf = torch.load\nw = f('w.pt')\n",
    "pickle_alias": "import pickle as p\nw = p.loads(b'')\n",
    "computed_open_mode": "m = 'r' + 'b'\nw = open('w', m).read()\n",
    "base64_weights": ("import base64, numpy as np\n"
                       f"W = np.frombuffer(base64.b64decode('{base64.b64encode(bytes(8000)).decode()}'), "
                       "dtype=np.float32)\n"),
    "base64_split": ("import base64, numpy as np\nparts = [\n"
                     + "".join(f"    '{base64.b64encode(bytes(300 + i)).decode()}',\n" for i in range(30))
                     + "]\nW = np.frombuffer(base64.b64decode(''.join(parts)), dtype=np.float32)\n"),
    "base64_many_assignments": "".join(f"P{i} = '{base64.b64encode(bytes(600)).decode()}'\n" for i in range(20)),
    "number_list": "W = [" + ", ".join(f"{i * 0.001:.3f}" for i in range(2000)) + "]\n",
    "bytes_literal": f"W = {bytes(range(256)) * 40!r}\n",
}


@pytest.mark.parametrize("name", sorted(WEIGHT_TRICKS))
def test_weight_loading_in_disguise_is_flagged(name):
    assert scan_shortcuts(WEIGHT_TRICKS[name]), name


def test_honest_training_code_is_not_flagged():
    src = textwrap.dedent('''\
        """A long docstring is not data. ''' + "x " * 3000 + '''"""
        import torch
        import torch.nn as nn
        import numpy as np
        def train(model, x, y, budget_s=10, device="cpu"):
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            loss_fn = nn.CrossEntropyLoss()
            history = {"loss": []}
            for xb, yb in zip(np.array_split(x, 10), np.array_split(y, 10)):
                loss = loss_fn(model(torch.as_tensor(xb)), torch.as_tensor(yb))
                opt.zero_grad(); loss.backward(); opt.step()
                history["loss"].append(float(loss))
            return history
        LABELS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
        ''')
    assert scan_shortcuts(src) == []


# ------------------------------------------------------------------ class 4: computed imports
@pytest.mark.parametrize("src", [
    "m = __import__('to' + 'rch')\n",
    "import importlib\nm = importlib.import_module(''.join(['sc', 'ipy']))\n",
    "from importlib import import_module as im\nname = 'torch'\nm = im(name)\n",
    "m = __builtins__.__import__(chr(116) + 'orch')\n",
])
def test_computed_name_import_is_a_static_finding(src):
    found = scan_imports(src, ["torch"])
    assert [f.how for f in found] == ["computed"], found
    assert "computed name" in found[0].message()


def test_literal_allowed_dynamic_import_is_not_flagged():
    assert scan_imports("import importlib\nm = importlib.import_module('math')\n", ["torch"]) == []
