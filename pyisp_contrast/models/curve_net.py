"""Curve estimators: networks that predict per-pixel light-enhancement curves.

Both networks predict maps ``r`` in [-1, 1] and brighten an image by iterating the quadratic
light-enhancement (LE) curve of Zero-DCE, ``x <- x + r * (x^2 - x)``. For ``r`` in [-1, 1] and ``x``
in [0, 1] each step stays in [0, 1] (it lies between ``x^2`` and ``2x - x^2``), is monotone in ``x``
and keeps 0 and 1 fixed, so the output is a valid, order-preserving tone curve per pixel.

- :class:`CurveEstimator` is DCE-Net (Guo et al., "Zero-Reference Deep Curve Estimation for
  Low-Light Image Enhancement", CVPR 2020, arXiv:2001.06826), the network PIE trains: 7 full-resolution
  3x3 convolutions, 8 curve maps. Its module names follow the authors' checkpoints so their released
  weights load directly.
- :class:`FastCurveEstimator` follows Zero-DCE++ (Li et al., "Learning to Enhance Low-Light Image via
  Zero-Reference Deep Curve Estimation", TPAMI 2021, arXiv:2103.00860): depthwise-separable convolutions
  on a downscaled copy of the input, curve maps upsampled bilinearly and applied at full resolution.
  With a fixed working resolution its cost barely depends on the photo size.

Both are built on :class:`DCEBody`, DCE-Net's seven convolutions and skip connections written once,
with full-resolution or separable layers. Both return :class:`CurveOutput` from ``forward`` (for
training: the curve maps feed the illumination smoothness loss) and offer a memory-bounded,
gradient-free ``enhance`` for inference on large photos.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyisp_contrast.core.checks import (
    check_float,
    check_image,
    check_int,
    keep_input_dtype,
    unbatch,
    value_checks_enabled,
)
from pyisp_contrast.core.resize import fit_long_side, linear_resize_indices, resize_rows
from pyisp_contrast.core.threads import follow_torch_threads
from pyisp_contrast.isp.curves import le_curve

__all__ = [
    "CurveEstimator",
    "CurveOutput",
    "FastCurveEstimator",
    "apply_curve_maps",
]

#: Receptive-field radius of DCE-Net: 7 stacked 3x3 convolutions see 7 pixels each way.
_DCE_HALO = 7


class CurveOutput(NamedTuple):
    """What a curve estimator's ``forward`` returns.

    Attributes:
        enhanced: the enhanced images ``(B, 3, H, W)`` in [0, 1].
        curves: the curve maps ``(B, 3 * n_maps, H, W)`` in [-1, 1] that produced them (map ``i`` is
            channels ``3i .. 3i + 2``); used by the illumination smoothness loss.
    """

    enhanced: Tensor
    curves: Tensor


def _apply_curves_(x: Tensor, curves: Tensor, iterations: int) -> Tensor:
    """Iterate the LE curve on ``x`` in place (no autograd); map ``i`` drives iteration ``i``.

    With fewer maps than iterations the maps are reused cyclically (one shared map, as Zero-DCE++).
    The same formula as :func:`pyisp_contrast.isp.curves.le_curve`, written in place so that
    inference on large photos allocates no per-iteration copies (tests check they agree).
    """
    n_maps = curves.shape[1] // 3
    tmp = torch.empty_like(x)
    for i in range(iterations):
        j = (i % n_maps) * 3
        torch.mul(x, x, out=tmp)
        tmp.sub_(x)
        x.addcmul_(curves[:, j : j + 3], tmp)
    return x


def apply_curve_maps(images: Tensor, curves: Tensor, iterations: int | None = None) -> Tensor:
    """Apply per-pixel quadratic light-enhancement curves (Zero-DCE, CVPR 2020, Eq. 2 and 4).

    Computes ``x <- x + r_i * (x^2 - x)`` for ``i = 0 .. iterations - 1``, where ``r_i`` is map
    ``i mod n_maps`` of ``curves``, via :func:`pyisp_contrast.isp.curves.le_curve` (negative ``r``
    brightens). Differentiable with respect to both arguments.

    Args:
        images: ``(B, 3, H, W)`` or ``(3, H, W)`` in [0, 1].
        curves: ``(B, 3 * n_maps, H, W)`` (or unbatched) maps in [-1, 1], same spatial size as
            ``images``.
        iterations: number of curve steps, a multiple of ``n_maps`` (default ``n_maps``).

    Returns:
        The enhanced images, same shape as ``images``, in [0, 1].

    Example:
        >>> x = torch.full((1, 3, 2, 2), 0.25)
        >>> apply_curve_maps(x, -torch.ones(1, 3, 2, 2), iterations=1)[0, 0, 0, 0].item()
        0.4375
    """
    x, unbatched = check_image(images, "images", channels=(3,))
    if not isinstance(curves, Tensor):
        raise TypeError(f"`curves` must be a torch.Tensor, got {type(curves).__name__}.")
    r = curves.unsqueeze(0) if curves.ndim == 3 else curves
    if r.ndim != 4 or r.shape[1] % 3 or r.shape[1] == 0:
        raise ValueError(
            f"`curves` must have shape (B, 3 * n_maps, H, W), got {tuple(curves.shape)}."
        )
    if r.shape[0] != x.shape[0] or r.shape[-2:] != x.shape[-2:]:
        raise ValueError(
            f"`curves` {tuple(r.shape)} does not match `images` {tuple(x.shape)} in batch or size."
        )
    n_maps = r.shape[1] // 3
    iterations = n_maps if iterations is None else check_int(iterations, "iterations", 1)
    if iterations % n_maps:
        raise ValueError(
            f"`iterations` ({iterations}) must be a multiple of the number of maps ({n_maps})."
        )
    if n_maps == 1 and _use_fused_le(x, r):
        _check_maps(r)
        return unbatch(SharedMapLECurve.apply(x, r, iterations), unbatched)
    # Maps are reused cyclically; the curve itself is the ISP module's, one formula everywhere.
    steps = r if iterations == n_maps else r.repeat(1, iterations // n_maps, 1, 1)
    return unbatch(le_curve(x, steps, iterations), unbatched)


def _use_fused_le(x: Tensor, r: Tensor) -> bool:
    return (
        x.device.type == r.device.type == "cpu"
        and x.dtype == r.dtype
        and x.dtype in (torch.float32, torch.float64)
        and not torch.jit.is_scripting()
        and not torch.jit.is_tracing()
        and not torch.onnx.is_in_onnx_export()
        and not torch.compiler.is_compiling()
    )


def _check_maps(r: Tensor) -> None:
    # The checks le_curve makes on its maps, with its messages.
    check_image(r, "alpha_maps", channels=None, allow_unbatched=False, check_range=False)
    if value_checks_enabled() and bool((r.detach().abs() > 1.0).any()):
        raise ValueError("`alpha_maps` must hold values in [-1, 1] (e.g. a tanh output).")


class SharedMapLECurve(torch.autograd.Function):
    """``iterations`` LE-curve steps with one map, fused on the CPU, with a hand-written backward.

    ``apply(x (B, C, H, W), r (B, C, H, W), iterations)``: the values of
    :func:`~pyisp_contrast.isp.curves.le_curve` with ``r`` repeated ``iterations`` times, bit for
    bit, from one numba pass (:mod:`pyisp_contrast.models._curve_kernel`). The backward keeps only
    ``x`` and ``r`` (autograd through the torch loop keeps three full-resolution tensors per step)
    and recomputes the intermediate states row by row; float64 ``gradcheck`` checks it. First
    derivatives only. :func:`apply_curve_maps` uses it for one shared map on the CPU.
    """

    @staticmethod
    def forward(ctx, x: Tensor, r: Tensor, iterations: int) -> Tensor:  # type: ignore[override]
        from pyisp_contrast.models._curve_kernel import le_forward

        xc = x.detach().contiguous()
        rc = r.detach().contiguous()
        out = torch.empty_like(xc)
        w = xc.shape[-1]
        follow_torch_threads()
        le_forward(
            xc.view(-1, w).numpy(), rc.view(-1, w).numpy(), iterations, out.view(-1, w).numpy()
        )
        ctx.save_for_backward(xc, rc)
        ctx.iterations = iterations
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor | None, Tensor | None, None]:  # type: ignore[override]
        from pyisp_contrast.models._curve_kernel import le_backward

        x, r = ctx.saved_tensors
        w = x.shape[-1]
        g = grad_out.detach().to(x.dtype).contiguous()
        grad_x = torch.empty_like(x)
        grad_r = torch.zeros_like(r)
        follow_torch_threads()
        le_backward(
            x.view(-1, w).numpy(), r.view(-1, w).numpy(), g.view(-1, w).numpy(),
            ctx.iterations, grad_x.view(-1, w).numpy(), grad_r.view(-1, w).numpy(),
        )  # fmt: skip
        return (
            grad_x if ctx.needs_input_grad[0] else None,
            grad_r if ctx.needs_input_grad[1] else None,
            None,
        )


def _use_curve_kernel(x: Tensor, curves: Tensor) -> bool:
    """Whether :func:`_fused_apply` can do :meth:`FastCurveEstimator.apply_curves`' work."""
    return (
        x.device.type == "cpu"
        and x.dtype == curves.dtype == torch.float32
        and x.ndim == 4
        and curves.shape[1] == 3
        and x.shape[1] == 3
    )


def _fused_apply(x: Tensor, wide: Tensor, low_h: int, iterations: int) -> Tensor:
    """Rows of ``wide`` (maps resized along the width) resized to ``x``'s height and applied."""
    from pyisp_contrast.models._curve_kernel import le_apply_upsampled

    r0, r1, rw = linear_resize_indices(x.shape[-2], low_h, x.device, x.dtype)
    xc = x.detach().contiguous()
    out = torch.empty_like(xc)
    follow_torch_threads()
    le_apply_upsampled(
        xc.numpy(),
        wide.contiguous().numpy(),
        r0.numpy(),
        r1.numpy(),
        rw.numpy(),
        iterations,
        out.numpy(),
    )
    return out


class DCEBody(nn.Module):
    """The body both curve estimators share: DCE-Net's seven convolutions and skip connections.

    ``e_conv1`` .. ``e_conv7`` with ReLU, symmetric skip concatenations (``conv5 <- [x3, x4]``,
    ``conv6 <- [x2, x5]``, ``conv7 <- [x1, x6]``) and ``tanh`` on the last layer (Zero-DCE, CVPR
    2020, Fig. 2). The layers are attributes of the subclass itself, not of a child module, so the
    state-dict keys stay ``e_conv1.weight`` .. ``e_conv7.bias`` (``e_conv1.depthwise.weight`` ..
    for separable layers): the names of the authors' checkpoints and of the bundled weights.

    Args:
        layers: the seven layers, from :meth:`build_layers` (or taken from a trained network).
    """

    def __init__(self, layers: Sequence[nn.Module]) -> None:
        super().__init__()
        if len(layers) != 7:
            raise ValueError(f"DCE-Net has 7 layers, got {len(layers)}.")
        self.e_conv1, self.e_conv2, self.e_conv3, self.e_conv4 = layers[:4]
        self.e_conv5, self.e_conv6, self.e_conv7 = layers[4:]

    @staticmethod
    def build_layers(
        channels: int, out_channels: int, conv: Callable[[int, int], nn.Module]
    ) -> list[nn.Module]:
        """The seven layers, ``conv(in_channels, out_channels)`` each, built in order (so a seeded
        generator initialises them the same way every time): 3 -> c, three c -> c, two 2c -> c,
        2c -> ``out_channels``."""
        c = channels
        ins = (3, c, c, c, 2 * c, 2 * c, 2 * c)
        outs = (c, c, c, c, c, c, out_channels)
        return [conv(i, o) for i, o in zip(ins, outs, strict=True)]

    def dce_maps(self, x: Tensor) -> Tensor:
        """The body's output: ``tanh`` of the last layer, maps in [-1, 1] (no checks)."""
        x1 = F.relu(self.e_conv1(x))
        x2 = F.relu(self.e_conv2(x1))
        x3 = F.relu(self.e_conv3(x2))
        x4 = F.relu(self.e_conv4(x3))
        x5 = F.relu(self.e_conv5(torch.cat([x3, x4], 1)))
        x6 = F.relu(self.e_conv6(torch.cat([x2, x5], 1)))
        return torch.tanh(self.e_conv7(torch.cat([x1, x6], 1)))


def _mkldnn_conv():
    """oneDNN's convolution with a fused activation (the op torch.compile's CPU backend emits),
    or ``None`` where this torch build lacks it."""
    if not torch.backends.mkldnn.is_available():
        return None
    return getattr(torch.ops.mkldnn, "_convolution_pointwise", None)


def _can_fuse(body: nn.Module, x: Tensor) -> bool:
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and not (
            torch.is_grad_enabled()
            and (x.requires_grad or any(p.requires_grad for p in body.parameters()))
        )
        and not torch.jit.is_scripting()
        and not torch.jit.is_tracing()
        and not torch.onnx.is_in_onnx_export()
        and not torch.compiler.is_compiling()
        and _mkldnn_conv() is not None
    )


def _conv_act(layer: nn.Module, x: Tensor, act: str) -> Tensor:
    """``act(layer(x))`` for a plain or separable layer, the activation fused into the last conv."""
    op = _mkldnn_conv()
    convs = [layer] if isinstance(layer, nn.Conv2d) else [layer.depthwise, layer.pointwise]
    for i, c in enumerate(convs):
        last = i == len(convs) - 1
        x = op(
            x, c.weight, c.bias, c.padding, c.stride, c.dilation, c.groups,
            act if last else "none", [], "",
        )  # fmt: skip
    return x


#: Pixels per strip of :func:`_fused_dce_maps`: a strip's 64-channel activations then stay in
#: cache; a 192 x 256 input in two strips ran in 0.55x the time of one pass (2-core EPYC).
_DCE_STRIP_PIXELS = 24576


def _fused_dce_maps(body: DCEBody, x: Tensor) -> Tensor:
    """:meth:`DCEBody.dce_maps` with each ReLU (and the final tanh) fused into its convolution.

    Inputs larger than ``_DCE_STRIP_PIXELS`` run in horizontal strips, each with
    ``_DCE_HALO`` rows of the input above and below it (the receptive field of the seven
    layers), so every output row sees exactly the rows it would in one pass: same result.
    """
    h, w = x.shape[-2:]
    n = -(-h * w // _DCE_STRIP_PIXELS)
    rows = -(-h // n)
    if n == 1 or rows <= _DCE_HALO:
        return _fused_dce_pass(body, x)
    out = []
    for top in range(0, h, rows):
        lo, hi = max(0, top - _DCE_HALO), min(h, top + rows + _DCE_HALO)
        maps = _fused_dce_pass(body, x[:, :, lo:hi].contiguous(memory_format=torch.channels_last))
        out.append(maps[:, :, top - lo : top - lo + min(rows, h - top)])
    return torch.cat(out, 2)


def _fused_dce_pass(body: DCEBody, x: Tensor) -> Tensor:
    """One pass of :func:`_fused_dce_maps` over all of ``x``."""
    x1 = _conv_act(body.e_conv1, x, "relu")
    x2 = _conv_act(body.e_conv2, x1, "relu")
    x3 = _conv_act(body.e_conv3, x2, "relu")
    x4 = _conv_act(body.e_conv4, x3, "relu")
    x5 = _conv_act(body.e_conv5, torch.cat([x3, x4], 1), "relu")
    x6 = _conv_act(body.e_conv6, torch.cat([x2, x5], 1), "relu")
    return _conv_act(body.e_conv7, torch.cat([x1, x6], 1), "tanh")


def _full_resolution_conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=1, padding=1, bias=True)


class CurveEstimator(DCEBody):
    """DCE-Net: the full-resolution curve estimator of Zero-DCE, the network PIE trains.

    Seven 3x3 convolutions with 32 channels and ReLU, symmetric skip concatenations
    (``conv5 <- [x3, x4]``, ``conv6 <- [x2, x5]``, ``conv7 <- [x1, x6]``), and ``tanh`` on the last
    layer's ``3 * iterations`` channels; 79,416 parameters with the defaults. Submodules are named
    ``e_conv1`` .. ``e_conv7`` as in the authors' released checkpoints (Zero-DCE and PIE), so those
    state dicts load with :meth:`load_state_dict` (a ``module.`` prefix from ``DataParallel`` is
    stripped).

    Args:
        channels: feature channels of the hidden layers (32 in the paper).
        iterations: curve steps, each with its own map (8 in the paper).

    Example:
        >>> net = CurveEstimator()
        >>> sum(p.numel() for p in net.parameters())
        79416
        >>> out = net(torch.rand(1, 3, 16, 16))
        >>> out.enhanced.shape, out.curves.shape
        (torch.Size([1, 3, 16, 16]), torch.Size([1, 24, 16, 16]))
    """

    def __init__(self, channels: int = 32, iterations: int = 8) -> None:
        check_int(channels, "channels", 1)
        check_int(iterations, "iterations", 1)
        super().__init__(self.build_layers(channels, 3 * iterations, _full_resolution_conv))
        self.channels = channels
        self.iterations = iterations

    @property
    def config(self) -> dict:
        """Constructor arguments, for :func:`pyisp_contrast.models.save_pretrained`."""
        return {"channels": self.channels, "iterations": self.iterations}

    def curve_maps(self, images: Tensor) -> Tensor:
        """The curve maps ``(B, 3 * iterations, H, W)`` in [-1, 1] for ``images`` (no checks)."""
        return self.dce_maps(images)

    @keep_input_dtype
    def forward(self, images: Tensor) -> CurveOutput:
        """Enhance ``images`` ``(B, 3, H, W)`` in [0, 1]; differentiable.

        Any float dtype: computed in the network's, returned in the input's.
        """
        x, _ = check_image(images, "images", channels=(3,), allow_unbatched=False)
        curves = self.curve_maps(x)
        return CurveOutput(apply_curve_maps(x, curves, self.iterations), curves)

    @torch.no_grad()
    @keep_input_dtype
    def enhance(self, images: Tensor, *, tile: int = 512) -> Tensor:
        """Enhance for inference: no gradient, bounded memory on large photos.

        Images larger than ``tile`` are processed in ``tile x tile`` blocks with a 7-pixel halo, the
        network's receptive-field radius, so the result equals the whole-image result exactly (up to
        float rounding) while the 32-channel activations only ever exist for one block.

        Args:
            images: ``(B, 3, H, W)`` or ``(3, H, W)`` in [0, 1], any float dtype (computed in
                the network's).
            tile: block side in pixels (>= 16).

        Returns:
            Enhanced images, same shape and dtype, in [0, 1].
        """
        check_int(tile, "tile", 16)
        x, unbatched = check_image(images, "images", channels=(3,))
        was_training = self.training
        self.eval()
        try:
            out = x.clone()
            _, _, h, w = x.shape
            for top in range(0, h, tile):
                for left in range(0, w, tile):
                    bottom, right = min(top + tile, h), min(left + tile, w)
                    # Zero padding of each conv only at true image borders: take a real halo inside.
                    t0, l0 = max(top - _DCE_HALO, 0), max(left - _DCE_HALO, 0)
                    b0, r0 = min(bottom + _DCE_HALO, h), min(right + _DCE_HALO, w)
                    curves = self.curve_maps(x[:, :, t0:b0, l0:r0])
                    curves = curves[:, :, top - t0 : bottom - t0, left - l0 : right - l0]
                    block = out[:, :, top:bottom, left:right]
                    _apply_curves_(block, curves, self.iterations)
        finally:
            self.train(was_training)
        return unbatch(out.clamp_(0.0, 1.0), unbatched)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[override]
        # Checkpoints saved from nn.DataParallel carry a "module." prefix on every key.
        dp = prefix + "module."
        for key in [k for k in state_dict if k.startswith(dp)]:
            state_dict[prefix + key[len(dp) :]] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class _SeparableConv(nn.Module):
    """3x3 depthwise convolution followed by a 1x1 pointwise one (both with bias)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=True)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.depthwise(x))


class FastCurveEstimator(DCEBody):
    """Reduced-resolution curve estimator (the idea of Zero-DCE++, TPAMI 2021).

    The input is downscaled (antialiased bilinear) to a working resolution, a DCE-Net-shaped network
    with depthwise-separable convolutions predicts ``n_maps`` curve maps there, and the maps are
    upsampled bilinearly and applied at full resolution for ``iterations`` steps (map ``i mod n_maps``
    at step ``i``; ``n_maps=1`` shares one map across all steps, as Zero-DCE++ does). Curve maps are
    smooth in practice, so estimating them at low resolution loses little while the cost of the
    network becomes independent of the photo size.

    Args:
        channels: hidden feature channels.
        iterations: curve steps.
        n_maps: distinct curve maps (``1`` or ``iterations``).
        working_side: the network runs with the longer side at most this many pixels (images are
            never upscaled); a fixed working size makes the cost independent of photo size.
        scale_factor: alternatively, downscale by this fixed factor (>= 1), as Zero-DCE++ does
            (it uses 12 at test time). Give ``working_side=None`` with it.

    Example:
        >>> net = FastCurveEstimator()
        >>> out = net(torch.rand(2, 3, 40, 60))
        >>> out.enhanced.shape, out.curves.shape
        (torch.Size([2, 3, 40, 60]), torch.Size([2, 3, 40, 60]))
    """

    def __init__(
        self,
        channels: int = 32,
        iterations: int = 8,
        n_maps: int = 1,
        working_side: int | None = 256,
        scale_factor: float | None = None,
    ) -> None:
        check_int(channels, "channels", 1)
        check_int(iterations, "iterations", 1)
        if n_maps not in (1, iterations):
            raise ValueError(f"`n_maps` must be 1 or `iterations` ({iterations}), got {n_maps!r}.")
        if (working_side is None) == (scale_factor is None):
            raise ValueError(
                "give exactly one of `working_side` (e.g. 256) and `scale_factor` (e.g. 12); "
                f"got working_side={working_side!r}, scale_factor={scale_factor!r}."
            )
        check_int(working_side, "working_side", 8, optional=True)
        check_float(scale_factor, "scale_factor", 1.0, optional=True)
        super().__init__(self.build_layers(channels, 3 * n_maps, _SeparableConv))
        self.channels = channels
        self.iterations = iterations
        self.n_maps = n_maps
        self.working_side = working_side
        self.scale_factor = None if scale_factor is None else float(scale_factor)

    @property
    def config(self) -> dict:
        """Constructor arguments, for :func:`pyisp_contrast.models.save_pretrained`."""
        return {
            "channels": self.channels,
            "iterations": self.iterations,
            "n_maps": self.n_maps,
            "working_side": self.working_side,
            "scale_factor": self.scale_factor,
        }

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """The ``(h, w)`` the network runs at for an ``height x width`` input."""
        if self.scale_factor is None:
            return fit_long_side(height, width, self.working_side)
        s = 1.0 / self.scale_factor
        return max(1, round(height * s)), max(1, round(width * s))

    def low_res_curves(self, images: Tensor) -> Tensor:
        """Curve maps at the working resolution ``(B, 3 * n_maps, h, w)`` (no checks)."""
        return self._low_res_curves(images, fused=False)

    def _low_res_curves(self, images: Tensor, *, fused: bool) -> Tensor:
        # fused: the activations run inside oneDNN's convolutions (_fused_dce_maps), half the
        # network's CPU time; maps differ from the plain layers' by float rounding (~1e-7), so
        # only enhance uses it and low_res_curves stays the layers' exact output.
        h, w = self.working_size(*images.shape[-2:])
        x = images
        if (h, w) != tuple(images.shape[-2:]):
            x = F.interpolate(
                images, size=(h, w), mode="bilinear", align_corners=False, antialias=True
            )
        # Depthwise convolutions are several times faster channels-last on CPU (oneDNN).
        x = x.contiguous(memory_format=torch.channels_last)
        if fused and _can_fuse(self, x):
            return _fused_dce_maps(self, x).contiguous()
        return self.dce_maps(x).contiguous()

    @keep_input_dtype
    def forward(self, images: Tensor) -> CurveOutput:
        """Enhance ``images`` ``(B, 3, H, W)`` in [0, 1]; differentiable.

        ``curves`` are the maps upsampled to full resolution, ``(B, 3 * n_maps, H, W)``. Any float
        dtype: computed in the network's, returned in the input's.
        """
        x, _ = check_image(images, "images", channels=(3,), allow_unbatched=False)
        low = self.low_res_curves(x)
        curves = low
        if low.shape[-2:] != x.shape[-2:]:
            curves = F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return CurveOutput(apply_curve_maps(x, curves, self.iterations), curves)

    @torch.no_grad()
    @keep_input_dtype
    def enhance(self, images: Tensor, *, rows: int = 64) -> Tensor:
        """Enhance for inference: no gradient, memory bounded by blocks of ``rows`` image rows.

        The low-resolution maps are upsampled (separable bilinear, the same arithmetic as
        ``F.interpolate``) one block of rows at a time and applied to the output in place, so beyond
        the image and its copy only a few block-sized temporaries exist: a 12-megapixel photo needs
        well under 1 GB.

        Args:
            images: ``(B, 3, H, W)`` or ``(3, H, W)`` in [0, 1], any float dtype (computed in
                the network's).
            rows: rows per block (>= 1). Blocks small enough to stay in cache while all the
                curve iterations run make this faster as well as lighter (``benchmarks/`` measures
                the choice).

        Returns:
            Enhanced images, same shape and dtype, in [0, 1].
        """
        check_int(rows, "rows", 1)
        x, unbatched = check_image(images, "images", channels=(3,))
        was_training = self.training
        self.eval()
        try:
            low = self._low_res_curves(x, fused=True)
        finally:
            self.train(was_training)
        return unbatch(self.apply_curves(x, low, rows=rows), unbatched)

    @torch.no_grad()
    def apply_curves(self, x: Tensor, curves: Tensor, *, rows: int = 64) -> Tensor:
        """Apply low-resolution curve maps (from :meth:`low_res_curves`) to ``x``, by row blocks.

        No checks and no gradient; the maps may be averaged or edited first (e.g. smoothed over
        the frames of a video). Returns a new tensor in [0, 1]. On the CPU, float32 with one
        shared map, a fused numba kernel does the resize, every iteration and the clamp in one
        pass per row (:mod:`pyisp_contrast.models._curve_kernel`; same arithmetic as the torch path).
        """
        big_h, big_w = x.shape[-2:]
        # Width first on the small map: (B, M, h, W) is tiny next to the image.
        c0, c1, cw = linear_resize_indices(big_w, curves.shape[-1], x.device, curves.dtype)
        wide = torch.lerp(curves[..., c0], curves[..., c1], cw)
        if _use_curve_kernel(x, curves):
            return _fused_apply(x, wide, curves.shape[-2], self.iterations)
        out = x.clone()
        for top in range(0, big_h, rows):
            sl = slice(top, min(top + rows, big_h))
            block_maps = resize_rows(curves, sl, (big_h, big_w), width_first=wide)
            _apply_curves_(out[:, :, sl], block_maps, self.iterations)
        return out.clamp_(0.0, 1.0)
