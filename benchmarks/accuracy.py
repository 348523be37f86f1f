"""Worst errors against a 50-digit mpmath reference, ours beside Paddle's, per dtype.

    python benchmarks/accuracy.py

The grid is the numerics issue's: logits +-{0, 1e-8, ..., 1e4} and +-inf, labels {0, 1, 0.25, 0.5, 0.9},
gamma {0, 0.5, 1, 2, 2.5, 5}, alpha {0.25, 0.5}. For each quantity: the worst relative error where the
true value is a normal number of the dtype, the worst absolute error elsewhere, and the number of nan
results. Derivative points whose terms cancel (ill-conditioned: the true value is below
bound/eps of the terms' size) are counted apart, as no floating-point evaluation is accurate there.
"""

from __future__ import annotations

import numpy as np

# A sibling of this script (its folder is on sys.path when it runs).
import mp_reference as mpr

import paddlefocal.nn.functional as F

BOUND = {np.float32: 3e-5, np.float64: 1e-12}


def _ours_torch(g):
    import torch

    out = [np.empty(g.logit.shape) for _ in range(3)]
    for alpha in mpr.ALPHAS:
        for gamma in mpr.GAMMAS:
            sel = (g.alpha == alpha) & (g.gamma == gamma)
            x = torch.tensor(g.logit[sel], requires_grad=True)
            y = torch.tensor(g.label[sel], requires_grad=True)
            loss = F.sigmoid_focal_loss(x, y, None, alpha, gamma, "none")
            loss.sum().backward()
            out[0][sel], out[1][sel], out[2][sel] = (
                loss.detach().numpy(),
                x.grad.numpy(),
                y.grad.numpy(),
            )
    return out


def _paddle(g):
    import paddle
    import paddle.nn.functional as PF

    out = [np.empty(g.logit.shape) for _ in range(3)]
    for alpha in mpr.ALPHAS:
        for gamma in mpr.GAMMAS:
            sel = (g.alpha == alpha) & (g.gamma == gamma)
            x = paddle.to_tensor(g.logit[sel][None], stop_gradient=False)
            y = paddle.to_tensor(g.label[sel][None], stop_gradient=False)
            loss = PF.sigmoid_focal_loss(x, y, None, alpha, gamma, "none")
            loss.sum().backward()
            out[0][sel], out[1][sel], out[2][sel] = (
                loss.numpy()[0],
                x.grad.numpy()[0],
                y.grad.numpy()[0],
            )
    return out


def _row(name, values, g, dtype):
    cells = []
    for ours, true, normal, scale in (
        (values[0], g.loss, g.loss_normal, None),
        (values[1], g.d_logit, g.d_logit_normal, g.d_logit_scale),
        (values[2], g.d_label, g.d_label_normal, g.d_label_scale),
    ):
        # nan results are counted, and the errors are those of the other points.
        keep = mpr.well_conditioned(ours, true, scale, dtype, 4 * BOUND[dtype]) & ~np.isnan(ours)
        with np.errstate(invalid="ignore", divide="ignore"):
            rel, absolute = mpr.errors(ours[keep], true[keep], normal[keep], dtype)
        nans = int(np.isnan(ours).sum())
        cells.append(f"{rel:9.2e} {absolute:9.2e} {nans:4d}")
    return f"{name:<14}" + "  |  ".join(cells)


def main() -> None:
    header = " " * 14 + "  |  ".join(f"{q:^24}" for q in ("loss", "d/d logit", "d/d label"))
    sub = " " * 14 + "  |  ".join(f"{'rel':>9} {'abs':>9} {'nan':>4}" for _ in range(3))
    for dtype in (np.float32, np.float64):
        g = mpr.grid(dtype)
        print(
            f"\n{np.dtype(dtype).name}: {g.logit.size} grid points; bound {BOUND[dtype]:g} (loss), "
            f"{4 * BOUND[dtype]:g} (gradients); abs: worst error where the true value is not normal"
        )
        print(header)
        print(sub)
        print(_row("paddlefocal", _ours_torch(g), g, dtype))
        try:
            print(_row("paddle 3.3.1", _paddle(g), g, dtype))
        except ImportError:
            print("paddle 3.3.1  not installed")
    print(
        "\nPaddle's d/d label leaves out d ce / d label (see the differences table): its error there is that term."
    )


if __name__ == "__main__":
    main()
