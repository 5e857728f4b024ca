# Example submission: divides the weight gradient by the batch size.
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


class Module:
    """Minimal torch-like base class (given to students)."""

    def __init__(self):
        self._params = {}
        self.grads = {}
        self.training = True

    def register_parameter(self, name, value):
        self._params[name] = value
        setattr(self, name, value)

    def state_dict(self):
        return {k: getattr(self, k).copy() for k in self._params if getattr(self, k) is not None}

    def load_state_dict(self, state):
        for k, v in state.items():
            if k not in self._params or getattr(self, k) is None:
                raise KeyError(f"unexpected key {k!r}")
            v = np.asarray(v)
            if v.shape != getattr(self, k).shape:
                raise ValueError(f"{k}: shape {v.shape}, expected {getattr(self, k).shape}")
            setattr(self, k, v.astype(getattr(self, k).dtype).copy())
            self._params[k] = getattr(self, k)

    def train(self, mode=True):
        self.training = mode
        return self

    def eval(self):
        return self.train(False)

    def __call__(self, x):
        return self.forward(x)


def _pair(v):
    """2 -> (2, 2); (2, 3) -> (2, 3)."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)

_NP_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}

def _pad_matrix(n, before, after, mode):
    """(n + before + after, n) 0/1 matrix P with padded = P @ x along one axis (any mode)."""
    idx = np.pad(np.arange(n), (before, after), mode=_NP_MODE[mode]) if mode != "zeros" \
        else np.pad(np.arange(n), (before, after), constant_values=-1)
    P = np.zeros((idx.size, n))
    valid = idx >= 0
    P[np.nonzero(valid)[0], idx[valid]] = 1.0
    return P


class Conv2d(Module):
    """(N, C_in, H, W) -> (N, C_out, H_out, W_out), cross-correlation as torch.nn.Conv2d."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros"):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError("in_channels and out_channels must be divisible by groups")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride, self.dilation = _pair(kernel_size), _pair(stride), _pair(dilation)
        self.padding_mode = padding_mode
        kh, kw = self.kernel_size
        if padding == "valid":
            padding = 0
        if padding == "same":
            tot = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            self.pads = tuple((t // 2, t - t // 2) for t in tot)
        else:
            p = _pair(padding)
            self.pads = ((p[0], p[0]), (p[1], p[1]))
        bound = 1 / np.sqrt(in_channels // groups * kh * kw)
        self.register_parameter("weight", np.random.uniform(-bound, bound, (out_channels, in_channels // groups, kh, kw)))
        self.register_parameter("bias", np.random.uniform(-bound, bound, out_channels) if bias else None)

    def forward(self, x):
        """(N, C_in, H, W) -> (N, C_out, H_out, W_out); caches what backward needs."""
        N, C, H, W = x.shape
        (pt, pb), (pl, pr) = self.pads
        Ph = _pad_matrix(H, pt, pb, self.padding_mode).astype(x.dtype)
        Pw = _pad_matrix(W, pl, pr, self.padding_mode).astype(x.dtype)
        xp = np.einsum("ph,nchw,qw->ncpq", Ph, x, Pw)
        kh, kw = self.kernel_size
        dh, dw = self.dilation
        sh, sw = self.stride
        win = sliding_window_view(xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
        win = win[:, :, ::sh, ::sw, ::dh, ::dw]                  # (N, C, Ho, Wo, kh, kw)
        G = self.groups
        win = win.reshape(N, G, C // G, *win.shape[2:])           # (N, G, Cg, Ho, Wo, kh, kw)
        Wg = self.weight.reshape(G, -1, C // G, kh, kw)           # (G, Og, Cg, kh, kw)
        out = np.einsum("ngchwij,gocij->ngohw", win, Wg, optimize=True)
        out = out.reshape(N, self.out_channels, *out.shape[3:])
        if self.bias is not None:
            out = out + self.bias[None, :, None, None]
        self.cache = (x.shape, xp.shape, win, Ph, Pw)
        return out.astype(x.dtype)

    def backward(self, grad_out):
        """(N, C_out, H_out, W_out) -> dL/dx (N, C_in, H, W); fills self.grads["weight"], ["bias"]."""
        xshape, xpshape, win, Ph, Pw = self.cache
        N, C, H, W = xshape
        G = self.groups
        kh, kw = self.kernel_size
        dh, dw = self.dilation
        sh, sw = self.stride
        Ho, Wo = grad_out.shape[2:]
        g = grad_out.reshape(N, G, -1, Ho, Wo)
        Wg = self.weight.reshape(G, -1, C // G, kh, kw)
        self.grads = {"weight": np.einsum("ngohw,ngchwij->gocij", g, win, optimize=True).reshape(self.weight.shape) / N}
        if self.bias is not None:
            self.grads["bias"] = grad_out.sum(axis=(0, 2, 3))
        dxp = np.zeros((N, G, C // G) + xpshape[2:], dtype=grad_out.dtype)
        for i in range(kh):
            for j in range(kw):
                contrib = np.einsum("ngohw,goc->ngchw", g, Wg[:, :, :, i, j])
                dxp[:, :, :, i * dh: i * dh + sh * (Ho - 1) + 1: sh, j * dw: j * dw + sw * (Wo - 1) + 1: sw] += contrib
        dxp = dxp.reshape(N, C, *xpshape[2:])
        return np.einsum("ph,ncpq,qw->nchw", Ph, dxp, Pw)

def _pool_windows(x, k, s, p, d, ceil_mode, fill):
    """Windows (N, C, Ho, Wo, kh, kw) of x padded with `fill`, and the (Ho, Wo) sizes."""
    N, C, H, W = x.shape
    sizes, extra = [], []
    for n, kk, ss, pp, dd in zip((H, W), k, s, p, d):
        eff = dd * (kk - 1) + 1
        num = n + 2 * pp - eff
        o = (-(-num // ss) if ceil_mode else num // ss) + 1
        if ceil_mode and (o - 1) * ss >= n + pp:
            o -= 1
        sizes.append(o)
        extra.append(max(0, (o - 1) * ss + eff - (n + 2 * pp)))
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0] + extra[0]), (p[1], p[1] + extra[1])), constant_values=fill)
    win = sliding_window_view(xp, (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1), axis=(2, 3))
    win = win[:, :, ::s[0], ::s[1], ::d[0], ::d[1]][:, :, :sizes[0], :sizes[1]]
    return win, xp.shape, extra


def _scatter_windows(gwin, xpshape, k, s, d, p, xshape):
    """Adjoint of _pool_windows: add window gradients (N, C, Ho, Wo, kh, kw) back to the input."""
    N, C, Ho, Wo = gwin.shape[:4]
    dxp = np.zeros(xpshape, dtype=gwin.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            dxp[:, :, i * d[0]: i * d[0] + s[0] * (Ho - 1) + 1: s[0],
                j * d[1]: j * d[1] + s[1] * (Wo - 1) + 1: s[1]] += gwin[..., i, j]
    H, W = xshape[2:]
    return dxp[:, :, p[0]: p[0] + H, p[1]: p[1] + W]


class MaxPool2d(Module):
    """(N, C, H, W) -> (N, C, H_out, W_out); padding counts as -inf."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride) if stride is not None else self.kernel_size
        self.padding, self.dilation, self.ceil_mode = _pair(padding), _pair(dilation), ceil_mode

    def forward(self, x):
        """(N, C, H, W) -> (N, C, H_out, W_out)."""
        win, xpshape, _ = _pool_windows(x, self.kernel_size, self.stride, self.padding, self.dilation,
                                        self.ceil_mode, -np.inf)
        flat = win.reshape(win.shape[:4] + (-1,))
        self.cache = (x.shape, xpshape, flat.argmax(axis=-1), win.shape)
        return flat.max(axis=-1)

    def backward(self, grad_out):
        """(N, C, H_out, W_out) -> dL/dx (N, C, H, W): each window's gradient goes to its maximum."""
        xshape, xpshape, arg, wshape = self.cache
        onehot = (np.arange(wshape[4] * wshape[5]) == arg[..., None]) * grad_out[..., None]
        return _scatter_windows(onehot.reshape(wshape), xpshape, self.kernel_size, self.stride,
                                self.dilation, self.padding, xshape)


class AvgPool2d(Module):
    """(N, C, H, W) -> (N, C, H_out, W_out); torch's divisor rules for padding and ceil_mode."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride) if stride is not None else self.kernel_size
        self.padding, self.ceil_mode, self.count_include_pad = _pair(padding), ceil_mode, count_include_pad

    def _divisor(self, xshape, xpshape):
        """Per-window count: positions inside the padded input (count_include_pad) or the input."""
        H, W = xshape[2:]
        (ph, pw), (kh, kw), (sh, sw) = self.padding, self.kernel_size, self.stride
        mask = np.zeros(xpshape[2:])
        if self.count_include_pad:
            mask[: H + 2 * ph, : W + 2 * pw] = 1.0
        else:
            mask[ph: ph + H, pw: pw + W] = 1.0
        return sliding_window_view(mask, (kh, kw))[::sh, ::sw].sum(axis=(-2, -1))

    def forward(self, x):
        """(N, C, H, W) -> (N, C, H_out, W_out)."""
        win, xpshape, _ = _pool_windows(x, self.kernel_size, self.stride, self.padding, (1, 1),
                                        self.ceil_mode, 0.0)
        div = self._divisor(x.shape, xpshape)[: win.shape[2], : win.shape[3]]
        self.cache = (x.shape, xpshape, win.shape, div)
        return (win.sum(axis=(-2, -1)) / div).astype(x.dtype)

    def backward(self, grad_out):
        """(N, C, H_out, W_out) -> dL/dx (N, C, H, W): spread evenly over each window."""
        xshape, xpshape, wshape, div = self.cache
        gwin = np.broadcast_to((grad_out / div)[..., None, None], wshape)
        return _scatter_windows(gwin, xpshape, self.kernel_size, self.stride, (1, 1), self.padding, xshape)

class Conv1d(Module):
    """(N, C_in, L) -> (N, C_out, L_out), cross-correlation as torch.nn.Conv1d.

    weight: (C_out, C_in / groups, kernel_size); bias: (C_out,). Hint: a 1-d signal is an image of
    height 1, and your Conv2d already handles every argument.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros"):
        super().__init__()
        one = lambda v: v[0] if isinstance(v, (tuple, list)) else v
        pad = padding if isinstance(padding, str) else (0, one(padding))
        self.conv = Conv2d(in_channels, out_channels, (1, one(kernel_size)), stride=(1, one(stride)),
                           padding=pad, dilation=(1, one(dilation)),
                           groups=groups, bias=bias, padding_mode=padding_mode)
        self.register_parameter("weight", self.conv.weight[:, :, 0, :].copy())
        self.register_parameter("bias", None if self.conv.bias is None else self.conv.bias.copy())

    def forward(self, x):
        """(N, C_in, L) -> (N, C_out, L_out); caches what backward needs."""
        self.conv.weight = self.weight[:, :, None, :]     # the parameters loaded into this layer
        self.conv.bias = self.bias
        return self.conv.forward(x[:, :, None, :])[:, :, 0, :]

    def backward(self, grad_out):
        """(N, C_out, L_out) -> dL/dx (N, C_in, L); fills self.grads["weight"], ["bias"]."""
        dx = self.conv.backward(grad_out[:, :, None, :])[:, :, 0, :]
        self.grads = {"weight": self.conv.grads["weight"][:, :, 0, :]}
        if self.bias is not None:
            self.grads["bias"] = self.conv.grads["bias"]
        return dx

def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """Output length of a convolution along one axis, as torch computes it (an int)."""
    effective = dilation * (kernel_size - 1) + 1
    return (size + 2 * padding - effective) // stride + 1


def receptive_field(layers):
    """How many input pixels one output unit sees (one axis).

    layers: list of (kernel_size, stride) pairs, first layer first; pooling counts like a
    convolution with its window. [(3, 1), (3, 1)] -> 5.
    """
    size, jump = 1, 1
    for kernel_size, stride in layers:
        size = size + (kernel_size - 1) * jump
        jump = jump * stride
    return size


# Q: AlexNet's first layer: 227x227 input, 11x11 kernel, stride 4, no padding. Output width?
ANSWER_ALEXNET_CONV1 = 55
# Q: receptive field of VGG's block: two 3x3 convolutions (stride 1) then 2x2 max pooling (stride 2)?
ANSWER_RF_VGG_BLOCK = 6

def sigmoid_chain_gradient(depth, z=0.0):
    """Factor by which a gradient shrinks through `depth` sigmoid units in a chain whose
    pre-activations all equal z (weights 1): the product of the sigmoid derivatives (a float)."""
    s = 1.0 / (1.0 + np.exp(-z))
    return float((s * (1.0 - s)) ** depth)


# Q: the largest value the derivative of the sigmoid takes (at which z?)
ANSWER_SIGMOID_DERIVATIVE_MAX = 0.25
# Q: at best, by what factor does the gradient shrink through 10 sigmoid layers?
ANSWER_GRADIENT_DEPTH_10 = 0.25 ** 10
