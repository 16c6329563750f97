"""SI-CLEER's forward pass for CPU inference: time-major, one matrix product per convolution.

:class:`InferencePlan` computes what ``SICLEER.forward`` computes in eval mode, from the same
weights, with fewer and cheaper operations for the live engine's one-window batches:

- The activations stay ``(batch, time, channels)`` from the input projection to the classifier:
  no transposes and no copies between layouts.
- A convolution with ``k`` taps (any dilation, the classifier's included) is one matrix product
  of the input with every tap's weights side by side, ``(batch, time, in) @ (in, k * out)``,
  followed by ``k - 1`` additions of time-shifted slices of that product. The input is never
  padded or copied into shifted columns (``models.encoder.SamePadConv._shifted_matmul`` stacks
  ``k`` shifted copies of it); the padded zeros would only have contributed zeros.
- The last block's 1x1 residual projection is accumulated into that block's output by the
  matrix product itself (``addmm_``), and its bias is added together with the convolution's.
- For one window (the live engine's batch), :meth:`InferencePlan.one_window` works on
  ``(time, channels)`` matrices and accumulates each tap's product straight into the output's
  shifted rows (``addmm_`` on a row slice), without the ``(time, k * out)`` product.

Nothing here computes gradients or trains: the network's modules, parameters and state-dict
keys are those of :mod:`models.encoder` and :mod:`models.network`, and this plan holds its own
re-arranged copy of the weights, made once when a model is loaded.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.network import SICLEER

__all__ = ["InferencePlan", "OneWindowPlan"]


class _Taps(nn.Module):
    """One same-length 1-D convolution, in the time-major layout.

    ``conv(x)[t] = bias + sum_i x[t + offset_i] @ W_i``, with ``offset_i = i * dilation - pad``
    and zero outside the window; the output is trimmed to the input's length as
    :class:`models.encoder.SamePadConv` does (the classifier's convolution keeps it too).
    """

    def __init__(self, conv: nn.Conv1d, extra_bias: torch.Tensor | None = None) -> None:
        super().__init__()
        out_ch, in_ch, k = conv.weight.shape
        weight = conv.weight.detach()
        # (in, k * out): columns [i * out, (i + 1) * out) hold tap i's weights, transposed
        self.register_buffer("weight", weight.permute(1, 2, 0).reshape(in_ch, k * out_ch)
                             .contiguous().clone())
        bias = (conv.bias.detach().clone() if conv.bias is not None
                else torch.zeros(out_ch, dtype=weight.dtype, device=weight.device))
        if extra_bias is not None:
            bias = bias + extra_bias.detach()
        self.register_buffer("bias", bias)
        pad, d = conv.padding[0], conv.dilation[0]
        self.out_ch = out_ch
        self.offsets = [i * d - pad for i in range(k)]
        # the tap that covers every output time step (absent for some even-length spans)
        self.centre = self.offsets.index(0) if 0 in self.offsets else -1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, time, in) -> (batch, time, out); a new contiguous tensor.

        Slices end relative to the window's end, so a trace records no size arithmetic (and
        a tap that reaches past the whole window adds an empty slice).
        """
        y = torch.matmul(x, self.weight)  # (batch, time, k * out)
        c = self.out_ch
        if self.centre >= 0:
            out = torch.add(y[:, :, self.centre * c: (self.centre + 1) * c], self.bias)
        else:
            out = self.bias.expand(x.shape[0], x.shape[1], c).contiguous()
        for i, off in enumerate(self.offsets):
            cols = y[:, :, i * c: (i + 1) * c]
            if off > 0:  # out[t] += y[t + off] for t < time - off
                out[:, :-off].add_(cols[:, off:])
            elif off < 0:  # for t >= -off
                out[:, -off:].add_(cols[:, :off])
        return out

    def one_window(self, x: torch.Tensor) -> torch.Tensor:
        """(time, in) -> (time, out) for one window: each tap's product is accumulated into
        the output's time-shifted rows in place (``addmm_``), with no ``(time, k * out)``
        intermediate; a new contiguous tensor."""
        c = self.out_ch
        if self.centre >= 0:
            out = torch.addmm(self.bias, x, self.weight[:, self.centre * c: (self.centre + 1) * c])
        else:
            out = self.bias.expand(x.shape[0], c).contiguous()
        for i, off in enumerate(self.offsets):
            w = self.weight[:, i * c: (i + 1) * c]
            if off > 0:  # out[t] += x[t + off] @ W_i for t < time - off
                out[:-off].addmm_(x[off:], w)
            elif off < 0:
                out[-off:].addmm_(x[:off], w)
        return out


class _Block(nn.Module):
    """GELU -> conv -> GELU -> conv, plus the residual, time-major."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        project = block.project
        self.conv1 = _Taps(block.conv1.conv)
        self.conv2 = _Taps(block.conv2.conv,
                           extra_bias=None if project is None else project.bias)
        self.in_ch, self.out_ch = self.conv1.weight.shape[0], self.conv2.out_ch
        if project is not None:  # (in, out): the 1x1 projection's weight, transposed
            self.register_buffer("project", project.weight.detach()[:, :, 0].t()
                                 .contiguous().clone())
        else:
            self.project = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, time, in) contiguous -> (batch, time, out) contiguous."""
        h = self.conv1(F.gelu(x))
        out = self.conv2(torch.ops.aten.gelu_(h))  # h is this block's own tensor
        if self.project is None:
            return out.add_(x)
        out.view(-1, self.out_ch).addmm_(x.view(-1, self.in_ch), self.project)
        return out

    def one_window(self, x: torch.Tensor) -> torch.Tensor:
        """(time, in) contiguous -> (time, out) contiguous, for one window."""
        h = self.conv1.one_window(F.gelu(x))
        out = self.conv2.one_window(torch.ops.aten.gelu_(h))
        if self.project is None:
            return out.add_(x)
        return out.addmm_(x, self.project)


class InferencePlan(nn.Module):
    """``SICLEER.forward`` in eval mode, for CPU inference (see the module's docstring).

    Args:
        net: the network whose weights are used; the plan copies them (re-arranged), so a
            later change to ``net``'s weights is not seen by the plan.
    """

    def __init__(self, net: SICLEER) -> None:
        super().__init__()
        enc, head = net.encoder, net.head
        self.n_channels = net.cfg.n_channels
        self.register_buffer("in_weight", enc.input_proj.weight.detach().clone())
        self.register_buffer("in_bias", enc.input_proj.bias.detach().clone())
        self.blocks = nn.ModuleList(_Block(b) for b in enc.cnn.blocks)
        self.head_conv = _Taps(head.conv)
        self.register_buffer("fc_weight", head.fc.weight.detach().clone())
        self.register_buffer("fc_bias", head.fc.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, time, n_channels) normalised EEG -> (batch, n_classes) logits."""
        h = F.linear(x, self.in_weight, self.in_bias)
        for block in self.blocks:
            h = block(h)
        h = torch.amax(self.head_conv(h), dim=1)
        return F.linear(torch.relu_(h), self.fc_weight, self.fc_bias)

    def one_window(self, x: torch.Tensor) -> torch.Tensor:
        """(1, time, n_channels) -> (1, n_classes) logits: :meth:`forward` for the live
        engine's single window, in 2-D ``(time, channels)`` with in-place tap products."""
        h = F.linear(x[0], self.in_weight, self.in_bias)
        for block in self.blocks:
            h = block.one_window(h)
        h = torch.amax(self.head_conv.one_window(h), dim=0, keepdim=True)
        return F.linear(torch.relu_(h), self.fc_weight, self.fc_bias)


class OneWindowPlan(nn.Module):
    """:meth:`InferencePlan.one_window` as a module's forward, to trace; shares the plan's
    weights. Only for batches of one window."""

    def __init__(self, plan: InferencePlan) -> None:
        super().__init__()
        self.plan = plan

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(1, time, n_channels) -> (1, n_classes) logits."""
        return self.plan.one_window(x)
