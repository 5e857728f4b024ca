"""convgrade sandbox worker: runs one student module and answers the grader's probes.

STANDALONE SCRIPT. It runs inside the sandbox, next to hostile student code, and imports only
the standard library and numpy — never ``grader``, ``reference`` or ``assignments`` (those are
not even present inside the sandbox). It holds nothing secret: it only ever receives the
student's source and probe inputs, never expected outputs.

    python -I worker.py REQUEST_FD REPLY_FD [TAG]

Protocol (docs/ARCHITECTURE.md, "Sandbox worker protocol"): frames are an 8-byte big-endian
length then the bytes; a message is a JSON frame followed by ``n_arrays`` ``.npy`` frames. The
first request is ``init`` (install the import blocker, execute the source as module
``submission``), then ``probe`` requests, each answered by exactly one reply carrying its id.
The import blocker is a policy aid for honest students (a clear message for a forbidden
import); the security boundary is the sandbox around this process (under bubblewrap the forbidden
packages are replaced on the filesystem by stubs that refuse to import, so removing the blocker
from ``sys.meta_path`` gains nothing). (A submodule that numpy
already imported stays reachable as an attribute, e.g. ``np.fft`` when ``numpy.fft`` is
forbidden; the grader's static import scan reports such uses.)
"""
import io
import json
import linecache
import math
import os
import struct
import sys
import traceback
import types

import numpy as np

# The framing helpers below duplicate the few lines of grader/sandbox/protocol.py on purpose:
# this script must not import anything from the grader.
HEADER = struct.Struct(">Q")
MAX_REQUEST_BYTES = 1 << 31
MAX_STR = 10_000          # characters of one returned string / error message
MAX_ITEMS = 100_000       # items of one returned list or dict
MAX_DEPTH = 32            # nesting of returned containers
STDOUT_CAP = 4_000        # characters of output echoed in one reply
ALWAYS_BLOCKED = ("grader", "reference", "assignments")


def read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd):
    (n,) = HEADER.unpack(read_exact(fd, HEADER.size))
    if n > MAX_REQUEST_BYTES:
        raise ValueError(f"request frame of {n} bytes")
    return read_exact(fd, n)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# .npy frames without numpy's header code on the common path: numpy parses every header with
# ast.literal_eval (hundreds of arrays a grade). The grader writes plain v1.0 headers
# (protocol.npy_header); those are read by one pattern, anything else by np.load. Headers are
# kept by their bytes / by (descr, shape): the same shapes come again and again.
_NPY_V1 = b"\x93NUMPY\x01\x00"
_NPY_DICT = None
_READ, _WRITTEN = {}, {}


def _npy_layout(head):
    """(dtype, shape) of a header dict numpy would write for a C-ordered plain array, else None."""
    global _NPY_DICT
    if _NPY_DICT is None:
        import re
        _NPY_DICT = re.compile(r"\{'descr': '([<>|][biuf][0-9]{1,2})', 'fortran_order': False, "
                               r"'shape': \(([0-9, ]{0,400})\), \} *\n")
    m = _NPY_DICT.fullmatch(head.decode("latin1"))
    if m is None:
        return None
    dims = [d.strip() for d in m.group(2).split(",")]
    if dims and dims[-1] == "":
        dims.pop()
    if not all(d.isdigit() for d in dims):
        return None
    return np.dtype(m.group(1)), tuple(int(d) for d in dims)


def decode_array(buf):
    """A fresh, writable array from the bytes of a .npy file."""
    if buf[:8] == _NPY_V1 and len(buf) >= 10:
        n = int.from_bytes(buf[8:10], "little")
        head = bytes(buf[10:10 + n])
        layout = _READ.get(head)
        if layout is None:
            layout = _npy_layout(head)
            if layout is not None and len(_READ) < 512:
                _READ[head] = layout
        if layout is not None:
            dtype, shape = layout
            count = math.prod(shape)
            if len(buf) == 10 + n + count * dtype.itemsize:
                return np.frombuffer(buf, dtype=dtype, count=count, offset=10 + n).reshape(shape).copy()
    return np.load(io.BytesIO(buf), allow_pickle=False)


def encode_array(a):
    """The bytes of a .npy file of ``a`` (byte for byte what np.lib.format.write_array writes)."""
    a = np.ascontiguousarray(a).reshape(np.shape(a))   # 0-d stays 0-d
    key = (a.dtype.str, a.shape)
    head = _WRITTEN.get(key)
    if head is None:
        buf = io.BytesIO()
        try:
            np.lib.format.write_array_header_1_0(buf, np.lib.format.header_data_from_array_1_0(a))
        except ValueError:      # a header too long for version 1.0: numpy picks the version
            buf = io.BytesIO()
            np.lib.format.write_array(buf, a, allow_pickle=False)
            return buf.getvalue()
        head = buf.getvalue()
        if len(_WRITTEN) < 512:
            _WRITTEN[key] = head
    return head + a.tobytes()


def read_message(fd):
    header = json.loads(read_frame(fd).decode("utf-8"))
    arrays = []
    for _ in range(int(header.get("n_arrays", 0))):
        arrays.append(decode_array(read_frame(fd)))
    return header, arrays


def write_message(fd, obj, arrays=()):
    obj = dict(obj, n_arrays=len(arrays))
    parts = [json.dumps(obj, allow_nan=False, separators=(",", ":")).encode("utf-8")]
    parts += [encode_array(a) for a in arrays]
    write_all(fd, b"".join(HEADER.pack(len(p)) + p for p in parts))


# ---------------------------------------------------------------------------------------------
# Output capture: everything printed still goes to fd 1/2 (pipes drained and capped by the
# grader, which also detects floods); the first STDOUT_CAP characters of each request are echoed.

class Capture:
    def __init__(self):
        self.parts, self.n = [], 0

    def add(self, s):
        if self.n < STDOUT_CAP:
            piece = s[:STDOUT_CAP - self.n]
            self.parts.append(piece)
            self.n += len(piece)

    def take(self):
        text = clean("".join(self.parts), STDOUT_CAP)
        self.parts, self.n = [], 0
        return text


class Tee(io.TextIOBase):
    def __init__(self, stream, capture):
        self._stream, self._capture = stream, capture

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        self._capture.add(s)
        self._stream.write(s)
        return len(s)

    def flush(self):
        self._stream.flush()

    def writable(self):
        return True

    def fileno(self):
        return self._stream.fileno()

    @property
    def encoding(self):
        return "utf-8"

    @property
    def buffer(self):
        return self._stream.buffer


CAPTURE = Capture()


def flush_output():
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:
            pass


# ---------------------------------------------------------------------------------------------
# Import blocker

class ImportBlocker:
    """A meta path finder that refuses ``names`` and their submodules with a clear ImportError."""

    def __init__(self, names):
        self.names = tuple(sorted(set(names)))

    def blocks(self, fullname):
        return any(fullname == n or fullname.startswith(n + ".") for n in self.names)

    def find_spec(self, fullname, path=None, target=None):
        if self.blocks(fullname):
            # ModuleNotFoundError (an ImportError): libraries that probe for optional packages
            # (torch looks for sklearn, tensorflow) treat a refused name as simply absent.
            raise ModuleNotFoundError(f"import of {fullname} is not allowed in this assignment", name=fullname)
        return None

    def find_module(self, fullname, path=None):   # legacy API, same answer
        return self.find_spec(fullname, path)


def install_blocker(names):
    blocker = ImportBlocker(list(ALWAYS_BLOCKED) + [str(n) for n in names if n])
    sys.meta_path.insert(0, blocker)
    for name in list(sys.modules):   # already imported ones must go through the finder again
        if blocker.blocks(name):
            del sys.modules[name]
    return blocker


# ---------------------------------------------------------------------------------------------
# The grader's own helpers (issue 11, class 7): evidence the grade rests on (parameter shapes,
# output shapes, the layer trace, logits) is computed here, from the model object, by code the
# submission did not write — never by helpers in the student's notebook. torch's functions are
# captured before the student's module runs (so patching torch.nn.Module afterwards does not
# change them); modules and parameters are enumerated from the instances' own dicts
# (``_modules``, ``_parameters``, ``_buffers``), not through methods a model can override. Code
# in the same process could still rewrite these helpers in memory; the checks that cannot be
# faked without computing the right function (forward with the grader's weights, held-out
# accuracy) stay the numerical truth.

def _vars(obj):
    return object.__getattribute__(obj, "__dict__")


class TorchHelpers:
    MAX_MODULES = 100_000
    MAX_TRACE = 5_000      # rows of a shape trace sent back (the lectures' largest nets have < 300)

    def __init__(self, torch):
        self.torch = torch
        M = torch.nn.Module
        self.Module, self.Tensor = M, torch.Tensor
        self.register_forward_hook = M.register_forward_hook
        self.module_to, self.module_double, self.module_float = M.to, M.double, M.float
        self.no_grad, self.enable_grad = torch.no_grad, torch.enable_grad
        self.empty, self.as_tensor, self.zeros = torch.empty, torch.as_tensor, torch.zeros
        self.fork_rng = torch.random.fork_rng
        self.autograd_grad = torch.autograd.grad
        self.float64, self.float32 = torch.float64, torch.float32
        self.nn_init = torch.nn.init
        # every torch.nn layer class, by identity (a student class named "Conv2d" is not one)
        self.layer_types = {}
        for name in dir(torch.nn):
            cls = getattr(torch.nn, name, None)
            if isinstance(cls, type) and issubclass(cls, M) and cls is not M:
                self.layer_types[cls] = name

    # -- structure, from the instances' dicts
    def _is(self, obj, cls):
        return cls in type(obj).__mro__

    def module(self, model):
        if not self._is(model, self.Module):
            raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
        return model

    def modules(self, root):
        """[(name, module)] in named_modules() order (pre-order, each module once)."""
        out, seen, todo = [], set(), [("", self.module(root))]
        while todo:
            prefix, m = todo.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            out.append((prefix, m))
            if len(out) > self.MAX_MODULES:
                raise ValueError(f"more than {self.MAX_MODULES} modules")
            children = [(prefix + ("." if prefix else "") + str(k), c)
                        for k, c in dict(_vars(m).get("_modules") or {}).items() if c is not None]
            for k, c in children:
                self.module(c)
            todo.extend(reversed(children))
        return out

    def _members(self, root, key):
        out, seen = [], set()
        for prefix, m in self.modules(root):
            for k, v in dict(_vars(m).get(key) or {}).items():
                if v is None or id(v) in seen:
                    continue
                if not self._is(v, self.Tensor):
                    raise TypeError(f"{prefix + '.' if prefix else ''}{k} is a {type(v).__name__}, not a tensor")
                seen.add(id(v))
                out.append((prefix + ("." if prefix else "") + str(k), v))
        return out

    def parameters(self, root):
        return self._members(root, "_parameters")

    def float_buffers(self, root):
        return [(n, b) for n, b in self._members(root, "_buffers") if b.is_floating_point()]

    def leaves(self, root):
        return [(n, m) for n, m in self.modules(root) if not any(c is not None for c in
                                                                (_vars(m).get("_modules") or {}).values())]

    def layer_type(self, m):
        for cls in type(m).__mro__:
            if cls in self.layer_types:
                return self.layer_types[cls]
        return type(m).__name__ + " (not a torch.nn layer)"

    def _set_training(self, root, flag):
        for _, m in self.modules(root):
            _vars(m)["training"] = bool(flag)

    # -- the helpers a probe calls (``{"grader": name}`` steps)

    # torch.nn.init's random initialisers: what a layer's reset_parameters draws with
    RANDOM_INITS = ("uniform_", "normal_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_",
                    "xavier_uniform_", "xavier_normal_", "orthogonal_", "sparse_")

    def build(self, cls, *args, **kwargs):
        """``cls(*args, **kwargs)`` with torch.nn.init's random initialisers filling zeros instead
        of drawing, restored after. For checks that use only the model's structure (parameter
        shapes, output shapes, a shape trace on zeros) or overwrite every parameter and
        floating-point buffer with the grader's values (``load_weights``) before running it: the
        drawn values would be thrown away, and drawing them is most of the cost of building a
        large model (a U-Net's 31 M weights). Nothing else about the constructor changes."""
        init = self.nn_init
        no_grad = self.no_grad

        def zeros(tensor, *a, **k):
            with no_grad():
                return tensor.zero_()

        saved = {n: init.__dict__[n] for n in self.RANDOM_INITS if n in init.__dict__}
        try:
            for n in saved:
                setattr(init, n, zeros)
            return cls(*args, **kwargs)
        finally:
            for n, f in saved.items():
                setattr(init, n, f)

    def param_shapes(self, model):
        """[[name, [d0, ...]], ...] in registration order."""
        return [[n, [int(d) for d in p.shape]] for n, p in self.parameters(model)]

    # a shape trace of a model this small on an input this small runs on the CPU, on zeros (as the
    # grader's reference trace, grader.checks.torch_models.shape_run): on the meta device some ops
    # go through torch's Python references, whose first call imports torch._dynamo (tanh) or sympy
    # (avg_pool2d) — seconds in every fresh worker. Larger ones, or a CPU run that fails, use meta.
    SMALL_INPUT = 1 << 17
    SMALL_MODEL = 1 << 21

    def shape_trace(self, model, input_shape):
        """[output shape, [[name, torch.nn type, shape], ...]]: the model's output shape and every
        leaf module's output shapes (forward hooks registered here): leaves in registration order,
        each one's calls in call order; on zeros on the CPU for a
        small model and input, else on the meta device (the model is then left there)."""
        shape = tuple(int(d) for d in input_shape)
        ps = self.parameters(model)
        small = math.prod(max(d, 0) for d in shape) <= self.SMALL_INPUT and \
            sum(int(p.numel()) for _, p in ps) <= self.SMALL_MODEL
        if small and all(p.device.type == "cpu" for _, p in ps):
            dtype = ps[0][1].dtype if ps and ps[0][1].is_floating_point() else self.float32
            try:
                with self.fork_rng(devices=[]):
                    return self._trace(model, self.zeros(shape, dtype=dtype))
            except Exception:
                pass
        self.module_to(model, "meta")
        return self._trace(model, self.empty(shape, device="meta"))

    def _trace(self, model, x):
        # one list per leaf, in registration order: the trace is every leaf's calls in call order,
        # leaves in registration order (as the grader's reference trace), so independent branches
        # run in another order (a shortcut computed first) trace alike
        per_leaf, handles, count = [], [], [0]
        for name, m in self.leaves(model):
            rows = []
            per_leaf.append(rows)

            def hook(mod, inp, out, name=name, rows=rows):
                if self._is(out, self.Tensor) and count[0] < self.MAX_TRACE:
                    count[0] += 1
                    rows.append([name, self.layer_type(mod), [int(d) for d in out.shape]])
            handles.append(self.register_forward_hook(m, hook))
        try:
            with self.no_grad():
                y = model(x)
        finally:
            for h in handles:
                h.remove()
        if not self._is(y, self.Tensor):
            raise TypeError(f"the model returned a {type(y).__name__}, not a tensor")
        return [[int(d) for d in y.shape], [row for rows in per_leaf for row in rows]]

    def load_weights(self, model, params, buffers=()):
        mine, bufs = self.parameters(model), self.float_buffers(model)
        if [tuple(p.shape) for _, p in mine] != [tuple(a.shape) for a in params] or \
                [tuple(b.shape) for _, b in bufs] != [tuple(a.shape) for a in buffers]:
            raise ValueError("the grader's weights do not fit your model's parameters and buffers")
        with self.no_grad():
            for (_, p), a in zip(mine, params):
                p.copy_(self.as_tensor(a, dtype=p.dtype))
            for (_, b), a in zip(bufs, buffers):
                b.copy_(self.as_tensor(a, dtype=b.dtype))

    def run(self, model, x, train=False):
        """The model's output for ``x`` in float64 (training mode only when ``train``)."""
        self.module_double(model)
        self._set_training(model, train)
        with self.no_grad():
            return model(self.as_tensor(x, dtype=self.float64))

    def param_stats(self, model):
        """{"n_params", "param_sum", "param_norm"} over the model's parameters (not its methods)."""
        ps = self.parameters(model)
        with self.no_grad():
            total = sum(float(p.detach().double().sum()) for _, p in ps)
            norm = sum(float((p.detach().double() ** 2).sum()) for _, p in ps) ** 0.5
        return {"n_params": int(sum(p.numel() for _, p in ps)), "param_sum": total, "param_norm": norm}

    def classify(self, model, x, grad=False):
        """The model's logits for the grader's images ``x`` (eval mode; the modules' training flags
        are restored after), its parameter statistics and, with ``grad``, the norm of the gradient
        of the logits' sum with respect to the parameters (zero: the logits ignore the model)."""
        ps = self.parameters(model)
        flags = [(m, _vars(m).get("training", True)) for _, m in self.modules(model)]
        device = ps[0][1].device if ps else "cpu"
        dtype = ps[0][1].dtype if ps and ps[0][1].is_floating_point() else self.float32
        xt = self.as_tensor(x, dtype=dtype).to(device)
        self._set_training(model, False)
        try:
            if grad and ps:
                with self.enable_grad():
                    out = model(xt)
                    leaves = [p for _, p in ps if p.requires_grad]
                    grads = self.autograd_grad(out.sum(), leaves, allow_unused=True) if leaves and \
                        self._is(out, self.Tensor) and out.requires_grad else []
                gnorm = sum(float((g.detach().double() ** 2).sum()) for g in grads if g is not None) ** 0.5
            else:
                with self.no_grad():
                    out = model(xt)
                gnorm = None
        finally:
            for m, f in flags:
                _vars(m)["training"] = f
        if not self._is(out, self.Tensor):
            raise TypeError(f"the model returned a {type(out).__name__}, not a tensor of logits")
        return dict(self.param_stats(model), logits=out.detach().double().cpu(), grad_norm=gnorm)


TORCH_HELPERS = ("build", "param_shapes", "shape_trace", "load_weights", "run", "param_stats", "classify")


def bounded_history(history, series=8, points=2000):
    """A training history cut to what the grader draws (issue 11, class 8): at most ``series``
    numeric series (``loss`` first), each at most ``points`` floats (evenly subsampled), before it
    is encoded; None when there is none. Thousands of series no longer reach the reply cap."""
    if not isinstance(history, dict):
        return None
    series, points = max(1, min(int(series), 64)), max(4, min(int(points), 100_000))
    keys = [k for k in list(history)[:10_000] if type(k) is str and not k.startswith("$")]
    keys = (["loss"] if "loss" in keys else []) + [k for k in keys if k != "loss"]
    out = {}
    for key in keys:
        if len(out) >= series:
            break
        try:
            arr = np.asarray(history[key], dtype=np.float64).reshape(-1)
        except BaseException:
            continue
        if arr.size > points:
            arr = arr[np.linspace(0, arr.size - 1, points).round().astype(np.int64)]
        out[clean(key, 100)] = arr
    return out


GENERIC_HELPERS = {"history": bounded_history}


def capture_torch(forbidden):
    """The grader's torch helpers, created before the student's module runs; None when torch is
    forbidden (or missing)."""
    if any(n == "torch" for n in forbidden):
        return None
    try:
        import torch
    except BaseException:
        return None
    return TorchHelpers(torch)


# ---------------------------------------------------------------------------------------------
# Errors

def clean(s, cap=MAX_STR):
    """A plain, valid UTF-8 str of at most ``cap`` characters (student strings may be anything)."""
    s = str.__getitem__(s, slice(0, cap)) if isinstance(s, str) else ""
    return s.encode("utf-8", "replace").decode("utf-8")


def safe_str(obj):
    try:
        return clean(str(obj))
    except BaseException:
        return "<unprintable>"


MAX_FRAMES = 20           # traceback frames in the student's file reported (the innermost)


def error_info(exc, filename):
    """``{"type", "message", "where", "line", "frames"}``: the innermost line in the student's
    file, if any, and every frame there (``[line, function]``, outermost first, at most
    MAX_FRAMES of the innermost). Line numbers are the generated module's; the grader maps them
    into the notebook (cell, line, the line's text)."""
    line = func = None
    frames = []
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == filename:
            line, func = lineno, frame.f_code.co_name
            frames.append([lineno, clean(func, 200)])
            if len(frames) > MAX_FRAMES:
                del frames[0]
    message = safe_str(exc)
    if isinstance(exc, SyntaxError):
        message = safe_str(exc.msg)
        if exc.filename == filename and isinstance(exc.lineno, int):
            line, func = exc.lineno, None
            frames.append([exc.lineno, "<module>"])
    if line is None:
        where = ""
    elif func in (None, "<module>"):
        where = f"line {line}"
    else:
        where = f"line {line} in {clean(func, 200)}"
    return {"type": clean(type(exc).__name__, 200), "message": message, "where": where, "line": line,
            "frames": frames}


# ---------------------------------------------------------------------------------------------
# Probe steps

class Session:
    def __init__(self, filename, max_elements, max_bytes):
        self.filename = filename
        self.module = None
        self.helpers = None   # TorchHelpers, set before the student's module runs
        self.max_elements = max_elements
        self.max_bytes = max_bytes

    def load(self, source, module_name):
        module = types.ModuleType(module_name)
        module.__file__ = self.filename
        sys.modules[module_name] = module
        self.module = module
        linecache.cache[self.filename] = (len(source), None, source.splitlines(True), self.filename)
        code = compile(source, self.filename, "exec", dont_inherit=True)
        exec(code, module.__dict__)

    # paths: "m", "m.forward", "m.grads.weight" (dict key), "m.layers.0" (sequence index)
    def lookup(self, name, ns):
        if name in ns:
            return ns[name]
        if self.module is not None and name in self.module.__dict__:
            return self.module.__dict__[name]
        raise NameError(f"name '{name}' is not defined in your module")

    @staticmethod
    def child(obj, part):
        if isinstance(obj, dict):
            if part in obj:
                return obj[part]
            raise KeyError(part)
        if isinstance(obj, (list, tuple)) and part.isdigit():
            return obj[int(part)]
        return getattr(obj, part)

    def resolve(self, path, ns):
        if not isinstance(path, str) or not path:
            raise ValueError(f"bad path {path!r}")
        first, *rest = path.split(".")
        obj = self.lookup(first, ns)
        for part in rest:
            obj = self.child(obj, part)
        return obj

    def assign(self, path, value, ns):
        if not isinstance(path, str) or not path:
            raise ValueError(f"bad path {path!r}")
        head, _, last = path.rpartition(".")
        if not head:
            ns[last] = value
            return
        parent = self.resolve(head, ns)
        if isinstance(parent, dict):
            parent[last] = value
        elif isinstance(parent, list) and last.isdigit():
            parent[int(last)] = value
        else:
            setattr(parent, last, value)

    def decode(self, value, ns, arrays):
        if isinstance(value, list):
            return [self.decode(v, ns, arrays) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, inner), = value.items()
            if key == "$array":
                return np.array(arrays[inner], copy=True)
            if key == "$ref":
                return self.resolve(inner, ns)
            if key == "$tuple":
                return tuple(self.decode(v, ns, arrays) for v in inner)
            if key == "$rng":
                return np.random.default_rng(inner)
            if key == "$dict":
                return {k: self.decode(v, ns, arrays) for k, v in inner.items()}
            if key == "$float":
                return float(inner)
            if key.startswith("$"):
                raise ValueError(f"unknown value marker {key}")
        return {k: self.decode(v, ns, arrays) for k, v in value.items()}

    def run_step(self, step, ns, arrays):
        if "call" in step:
            fn = self.resolve(step["call"], ns)
            args = self.decode(step.get("args", []), ns, arrays)
            kwargs = self.decode(step.get("kwargs", {}), ns, arrays)
            result = fn(*args, **kwargs)
        elif "grader" in step:   # one of the grader's own helpers, not a name of the student's
            name = step["grader"]
            if name in GENERIC_HELPERS:
                fn = GENERIC_HELPERS[name]
            elif name in TORCH_HELPERS and self.helpers is not None:
                fn = getattr(self.helpers, name)
            else:
                raise RuntimeError(f"grader helper {name!r} is not available (torch is needed)")
            args = self.decode(step.get("args", []), ns, arrays)
            if "path" in step:   # the value at a path, or None when it is not there (never raises)
                try:
                    args = [self.resolve(step["path"], ns)] + list(args)
                except BaseException:
                    args = [None] + list(args)
            kwargs = self.decode(step.get("kwargs", {}), ns, arrays)
            result = fn(*args, **kwargs)
        elif "get" in step:
            result = self.resolve(step["get"], ns)
        elif "hasattr" in step:
            try:
                self.resolve(step["hasattr"], ns)
                result = True
            except BaseException:
                result = False
        elif "set" in step:
            self.assign(step["set"], self.decode(step.get("value"), ns, arrays), ns)
            return
        else:
            raise ValueError(f"unknown step {sorted(step)}")
        if step.get("let"):
            ns[step["let"]] = result

    # ---- encoding of returned values

    def encode(self, value, out, depth=0):
        if depth > MAX_DEPTH:
            return {"$unencodable": "nesting too deep"}
        if value is None or isinstance(value, (bool, np.bool_)):
            return None if value is None else bool(value)
        if isinstance(value, (int, np.integer)):
            i = int(value)
            return i if i.bit_length() <= 63 else {"$unencodable": "int (too large)"}
        if isinstance(value, (float, np.floating)):
            f = float(value)
            if math.isfinite(f):
                return f
            return {"$float": "nan" if math.isnan(f) else ("inf" if f > 0 else "-inf")}
        if isinstance(value, str):
            return clean(value)
        if isinstance(value, np.ndarray):
            return self.encode_array(value, out)
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(value, getattr(torch, "Tensor", ())):
            return self.encode_array(value.detach().cpu().numpy(), out)
        if isinstance(value, (list, tuple)):
            if len(value) > MAX_ITEMS:
                return {"$unencodable": f"{type(value).__name__} of length {len(value)}"}
            return [self.encode(v, out, depth + 1) for v in value]
        if isinstance(value, dict):
            if len(value) > MAX_ITEMS or not all(type(k) is str and not k.startswith("$") for k in value):
                return {"$unencodable": type(value).__name__}
            return {k: self.encode(v, out, depth + 1) for k, v in value.items()}
        if hasattr(type(value), "__array__") or hasattr(type(value), "__array_interface__"):
            return self.encode_array(np.asarray(value), out)
        return {"$unencodable": clean(type(value).__name__, 200)}

    def encode_array(self, arr, out):
        arr = np.asarray(arr)
        if arr.dtype.kind not in "biuf" or arr.dtype.fields is not None or arr.dtype.subdtype is not None:
            return {"$unencodable": f"ndarray of dtype {arr.dtype}"}
        if arr.size > self.max_elements:
            return {"$unencodable": f"ndarray with {arr.size} elements (limit {self.max_elements})"}
        used = sum(a.nbytes for a in out)
        if used + arr.nbytes > self.max_bytes:
            return {"$unencodable": f"ndarray of {arr.nbytes} bytes (reply limit reached)"}
        out.append(np.array(arr, copy=True))   # a copy the student's code can no longer change
        return {"$array": len(out) - 1}

    def probe(self, msg, arrays):
        ns, values, out, error = {}, {}, [], None
        for i, step in enumerate(msg.get("steps", [])):
            try:
                self.run_step(step, ns, arrays)
            except BaseException as exc:
                error = dict(error_info(exc, self.filename), step=i)
                break
        for key, path in msg.get("return", {}).items():
            try:
                value = self.resolve(path, ns)
            except BaseException:
                continue   # not evaluable: left out of values
            try:
                values[key] = self.encode(value, out)
            except BaseException as exc:
                values[key] = {"$unencodable": f"{safe_str(type(value).__name__)} ({type(exc).__name__})"}
        return {"id": msg.get("id"), "values": values, "error": error}, out


def main(argv):
    req_fd, rep_fd = int(argv[1]), int(argv[2])
    sys.argv = ["submission.py"]
    np.set_printoptions(threshold=200, linewidth=100, precision=6)
    # line-buffered, so what was printed before a hang or a crash still reaches the grader
    out = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
    err = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stdout, sys.stderr = Tee(out, CAPTURE), Tee(err, CAPTURE)

    try:
        init, _ = read_message(req_fd)
    except EOFError:
        os._exit(0)
    session = Session(str(init.get("filename", "submission.py")), int(init.get("max_elements", 10**7)),
                      int(init.get("max_bytes", 64 << 20)))
    install_blocker(init.get("forbidden", []))
    session.helpers = capture_torch([str(n) for n in init.get("forbidden", [])])
    try:
        session.load(init["source"], init.get("module", "submission"))
        reply = {"ok": True}
    except BaseException as exc:   # SystemExit and KeyboardInterrupt included: report, don't exit
        reply = {"ok": False, "error": error_info(exc, session.filename)}
    flush_output()
    reply["stdout"] = CAPTURE.take()
    write_message(rep_fd, reply)

    while True:
        try:
            msg, arrays = read_message(req_fd)
        except EOFError:
            os._exit(0)   # no atexit handlers, no late writes
        if msg.get("op") != "probe":
            flush_output()
            os._exit(0)
        try:
            reply, out_arrays = session.probe(msg, arrays)
            flush_output()
            reply["stdout"] = CAPTURE.take()
            body = json.dumps(reply, allow_nan=False)   # fail here, not halfway through a write
            del body
        except BaseException as exc:
            reply = {"id": msg.get("id"), "values": {}, "stdout": CAPTURE.take(),
                     "error": dict(error_info(exc, session.filename), step=None, type="WorkerError")}
            out_arrays = []
        write_message(rep_fd, reply, out_arrays)


# ---------------------------------------------------------------------------------------------
# Zygote mode (grader/sandbox/zygote.py): ``python -I worker.py --zygote CONTROL_FD [TAG]``.
# One process inside the sandbox that has imported numpy (and the preloaded libraries) forks one
# worker per submission, so a submission starts in milliseconds instead of paying for the
# interpreter and the imports. It never sees a submission: the grader hands it four pipe ends
# over the control socket (a SOCK_SEQPACKET unix socket), it forks, and the child becomes an
# ordinary worker (``main``) on those pipes after sending its credentials (the kernel turns its
# pid into the grader's view of it, so the grader can move it into a fresh cgroup before init).
# One child at a time. When the child has exited, the zygote kills whatever it left behind
# (every process of the sandbox's pid namespace but itself and bubblewrap's init), reaps it,
# returns every writable place (/tmp, the home, /dev/shm) to what bubblewrap made of it (empty,
# but for the folders leading to a bind mount: a virtual environment under /tmp), removes System V
# IPC objects and the user's keys, and only then says it is ready again (its exit status goes first). It is not dumpable, so a child can neither
# ptrace it nor read its memory or its file descriptors through /proc.

WRITABLE = ("/tmp", "/home/student", "/dev/shm")


def _libc():
    import ctypes
    return ctypes.CDLL(None, use_errno=True)


def _snapshot(roots):
    """{path: (st_dev, st_ino, st_mode)} of what the writable places hold before any child ran:
    nothing, unless bubblewrap mounted something under them (a virtual environment that lives
    under /tmp is bound on top of the fresh /tmp) — then the folders leading to that mount point
    and the mount point itself, not what is inside it."""
    import stat

    out = {}
    for root in roots:
        try:
            dev = os.lstat(root).st_dev
        except OSError:
            continue
        stack = [root]
        while stack:
            path = stack.pop()
            st = os.lstat(path)
            out[path] = (st.st_dev, st.st_ino, st.st_mode)
            if stat.S_ISDIR(st.st_mode) and st.st_dev == dev:
                stack += [os.path.join(path, n) for n in os.listdir(path)]
    return out


def _wipe(root, keep):
    """Remove everything under ``root`` that is not in ``keep`` (a :func:`_snapshot`), restore the
    modes of what is, and return whether the tree is exactly the snapshot again. Iterative (no
    recursion limit); a folder the child made unreadable is made readable first (it is the
    zygote's user's); nothing on another device (a mount point) is entered."""
    import stat

    try:
        dev = os.lstat(root).st_dev
    except OSError:
        return False
    stack = [(root, False)]
    while stack:
        path, emptied = stack.pop()
        try:
            if emptied:
                os.rmdir(path)
                continue
            st = os.lstat(path)
            if path in keep:
                if stat.S_IMODE(st.st_mode) != stat.S_IMODE(keep[path][2]) and not stat.S_ISLNK(st.st_mode):
                    os.chmod(path, stat.S_IMODE(keep[path][2]))
                if stat.S_ISDIR(st.st_mode) and st.st_dev == dev:
                    stack += [(os.path.join(path, n), False) for n in os.listdir(path)]
                continue
            if st.st_dev != dev:
                continue            # not ours to remove; the check below fails
            if not stat.S_ISDIR(st.st_mode):
                os.unlink(path)
                continue
            os.chmod(path, 0o700)
            stack.append((path, True))
            stack += [(os.path.join(path, n), False) for n in os.listdir(path)]
        except OSError:
            pass
    return _snapshot([root]) == {p: v for p, v in keep.items() if _under(p, root)}


def _under(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def _remove_ipc(libc):
    """Remove the System V shared memory segments, semaphore sets and message queues of this
    IPC namespace (the sandbox's own: nothing outside it can see them)."""
    for name, remove in (("shm", lambda i: libc.shmctl(i, 0, None)), ("sem", lambda i: libc.semctl(i, 0, 0)),
                         ("msg", lambda i: libc.msgctl(i, 0, None))):
        try:
            with open(f"/proc/sysvipc/{name}") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 1 and fields[1].isdigit():
                remove(int(fields[1]))


def _clear_keys(libc):
    """Empty the user's keyrings (keyctl KEYCTL_CLEAR of @u and @us), where the call exists."""
    import platform

    nr = {"x86_64": 250, "aarch64": 219}.get(platform.machine())
    if nr is not None:
        for ring in (-4, -5):   # KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING
            libc.syscall(nr, 7, ring)


def _reap_all():
    """SIGKILL every process of the namespace but this one and init, and reap them (the zygote
    is a child subreaper: whatever a submission forked and orphaned is its child)."""
    import signal

    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def _child(ctl, fds):
    """In the forked child: report its pid, take the pipes as fds 1/2 and the protocol's, and
    run as an ordinary worker. Never returns."""
    import socket

    try:
        req, rep, out, err = fds
        ctl.sendmsg([b"P"], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS,
                              struct.pack("3i", os.getpid(), os.getuid(), os.getgid()))])
        ctl.close()
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.close(out)
        os.close(err)
        os.setsid()
        np.random.seed()   # what a fresh interpreter would have: its own entropy
        main(["worker.py", str(req), str(rep)])
    except BaseException:
        pass
    os._exit(0)


def zygote_main(argv):
    import socket

    if os.getpid() != 2 or os.getppid() != 1:   # only inside bubblewrap's own pid namespace
        os._exit(3)
    ctl = socket.socket(fileno=int(argv[2]))
    libc = _libc()
    libc.prctl(4, 0, 0, 0, 0)     # PR_SET_DUMPABLE 0
    libc.prctl(36, 1, 0, 0, 0)    # PR_SET_CHILD_SUBREAPER 1
    keep = _snapshot(WRITABLE)    # the writable places as bubblewrap made them
    ctl.send(b"R")
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 16, 4)
        except OSError:
            os._exit(0)
        if msg != b"F" or len(fds) != 4:
            os._exit(0)    # the grader closed the socket (or sent nonsense): done
        pid = os.fork()
        if pid == 0:
            _child(ctl, fds)
        for fd in fds:
            os.close(fd)
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        try:
            ctl.send(b"X%d" % status)
        except OSError:
            os._exit(0)
        try:   # any doubt that the sandbox is as it was: quit (the grader starts a new zygote)
            _reap_all()
            if not all([_wipe(root, keep) for root in WRITABLE]):
                os._exit(4)
            _remove_ipc(libc)
            _clear_keys(libc)
            os.chdir("/home/student")
        except BaseException:
            os._exit(4)
        try:
            ctl.send(b"R")
        except OSError:
            os._exit(0)


if __name__ == "__main__":
    zygote_main(sys.argv) if sys.argv[1:2] == ["--zygote"] else main(sys.argv)
