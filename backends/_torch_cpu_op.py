"""torch's CPU forward as a custom operator, for compiled graphs.

Inside ``torch.compile`` the Function's forward is traced with fake tensors, which the eager CPU
kernel (NumPy's, on views of the tensors' memory) cannot read. From ``COMPILED_CPU_OP`` elements the
traced forward calls this operator instead, and the compiled graph runs NumPy's kernel as it is;
below, Inductor's fused loop of the branch-free formula is faster. The operator is registered once
Dynamo is imported: an eager-only process never registers it.
"""

from __future__ import annotations

from typing import Any

import array_api_compat.torch as xp_torch
import torch

from paddlefocal._call import Call
from paddlefocal._driver import Kernel, run
from paddlefocal._typing import REDUCTIONS

from ._torch_kernels import block_size, cpu_kernel

__all__ = ["COMPILED_CPU_OP", "call", "define", "defined", "run_cpu"]

#: From this many elements a compiled CPU graph calls NumPy's kernel as an operator: its call costs
#: about 90 us more than Inductor's fused loop of the branch-free formula, which NumPy's SIMD exp and
#: log1p repay from about 8192 elements (torch 2.14, one thread).
COMPILED_CPU_OP = 8192

#: The registered operator (``define``), called as ``cpu_op(logit, label, normalizer, alpha, gamma,
#: reduction index, want_grad) -> (result, d result / d logit or an empty tensor)``.
cpu_op: Any = None


def run_cpu(
    call: Call, want_grad: bool, kernel: Kernel = cpu_kernel
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The CPU kernel under the driver: blocks on paddlefocal's pool, on no more threads than
    torch's own count."""
    block = block_size(call.logit)
    return run(call, kernel, block, True, want_grad, torch.get_num_threads())


def _cpu_forward(
    logit: torch.Tensor,
    label: torch.Tensor,
    normalizer: torch.Tensor | None,
    alpha: float,
    gamma: float,
    code: int,
    want_grad: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The operator's body: the eager CPU forward, which the compiled graph calls as it is."""
    call = Call(logit, label, normalizer, alpha, gamma, REDUCTIONS[code], xp_torch)
    result, grad = run_cpu(call, want_grad)
    return result, logit.new_empty((0,)) if grad is None else grad


def _cpu_forward_fake(logit: torch.Tensor, *rest: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The outputs' shapes (``rest``: label, normalizer, alpha, gamma, code, want_grad)."""
    code, want_grad = rest[-2:]
    shape = logit.shape if REDUCTIONS[code] == "none" else ()
    return logit.new_empty(shape), logit.new_empty(logit.shape if want_grad else (0,))


def call(focal: Call, want_grad: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The operator applied to a call (inside a compiled region, once ``define`` has run)."""
    code = REDUCTIONS.index(focal.reduction)
    args = (focal.logit, focal.label, focal.normalizer, focal.alpha, focal.gamma)
    return cpu_op(*args, code, want_grad)


def define() -> None:
    """Register the operator and its shape function (once Dynamo is imported)."""
    global cpu_op
    if cpu_op is None:
        try:
            op = torch.library.custom_op("paddlefocal::cpu_forward", mutates_args=())(_cpu_forward)
            op.register_fake(_cpu_forward_fake)
            cpu_op = op
        except RuntimeError:  # registered by a second copy of this module (pytest's doctests)
            cpu_op = torch.ops.paddlefocal.cpu_forward


def defined() -> bool:
    return cpu_op is not None
