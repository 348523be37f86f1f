"""Build-time figures for the site, drawn from paddlefocal itself (mkdocs hook).

Writes ``docs/assets/generated/`` before the files are collected: the loss against p_t for several gammas
(after Figure 1 of Lin et al., 2017) and the gradient at saturated logits, ours beside the naive chain rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).resolve().parent / "assets" / "generated"


def _loss_against_pt(path: Path) -> None:
    import matplotlib.pyplot as plt

    import paddlefocal.nn.functional as F

    p_t = np.linspace(0.001, 0.999, 500)
    logit = np.log(p_t / (1 - p_t))  # sigmoid(logit) = p_t for a positive label
    label = np.ones_like(logit)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for gamma in (0, 0.5, 1, 2, 5):
        # alpha = 1 gives alpha_t = 1 for positives: FL(p_t) = -(1 - p_t)**gamma log(p_t).
        loss = F.sigmoid_focal_loss(logit, label, alpha=1.0, gamma=gamma, reduction="none")
        ax.plot(p_t, loss, label=f"gamma = {gamma}")
    ax.set(xlabel="probability of ground truth class p_t", ylabel="loss", ylim=(0, 5))
    ax.legend()
    ax.set_title("paddlefocal.sigmoid_focal_loss, label 1, alpha 1")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _gradient_at_saturation(path: Path) -> None:
    import matplotlib.pyplot as plt

    from paddlefocal._derivatives import focal_elementwise_grads

    x = np.linspace(0.0, 110.0, 1101, dtype=np.float32)
    y = np.ones_like(x)
    alpha, gamma = np.float32(0.25), np.float32(0.5)
    with np.errstate(all="ignore"):
        ours = focal_elementwise_grads(np, x, y, 0.25, 0.5).logit
        # The chain rule as autograd applies it to Paddle's op sequence, in float32.
        p = 1 / (1 + np.exp(-x))
        q = 1 - (p * y + (1 - p) * (1 - y))
        ce = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
        dq = -(p * (1 - p)) * (2 * y - 1)
        naive = alpha * (gamma * q ** (gamma - 1) * dq * ce + q**gamma * (p - y))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.semilogy(x, np.abs(ours), label="paddlefocal (written-out derivative)")
    finite = np.isfinite(naive)
    ax.semilogy(
        x[finite], np.abs(naive[finite]), "--", label="naive chain rule (Paddle, torchvision)"
    )
    if (~finite).any():
        start = float(x[~finite].min())
        ax.axvspan(
            start,
            float(x.max()),
            color="red",
            alpha=0.12,
            label=f"naive: nan from logit {start:.1f}",
        )
    ax.set(xlabel="logit (label 1, gamma 0.5, float32)", ylabel="|d loss / d logit|")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def on_pre_build(config: Any, **kwargs: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    OUT.mkdir(parents=True, exist_ok=True)
    _loss_against_pt(OUT / "loss_against_pt.png")
    _gradient_at_saturation(OUT / "gradient_at_saturation.png")
