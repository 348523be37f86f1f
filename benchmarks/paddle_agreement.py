"""How closely paddlefocal agrees with Paddle 3.3.1 on a RetinaNet-like input, float32 and float64.

    python benchmarks/paddle_agreement.py            # 4 x 20000 x 80, about a minute on 2 cores
    python benchmarks/paddle_agreement.py --shape 2 1000 80

The input is what a RetinaNet head's classification loss sees: logits drawn from N(0, 2**2), labels 0
except about 1% ones (the positive anchors' classes) and a few anchors ignored with label -100, Paddle's
``ignore_index``; ``normalizer`` the number of positives, ``alpha`` 0.25, ``gamma`` 2. Printed, per dtype
and per paddlefocal path (NumPy, torch on the CPU):

- per element (``reduction='none'``): the fraction of elements whose bits equal Paddle's, the largest
  distance in units in the last place (ulp: the number of representable numbers between the two), and
  the largest relative difference;
- the normalized ``'sum'``: its relative difference from Paddle's, and each one's relative difference from
  the same sum computed in float64 by Paddle (the accuracy of the total, not only the agreement);
- the gradient to ``logit`` of that sum (torch against Paddle's autograd): fraction bit-equal, ulp and
  relative difference.

"max abs / max |Paddle|" is the largest absolute difference over the largest magnitude of Paddle's
values: the scale-free part of the tolerance. The last line checks the tolerance the documentation
recommends for a port's regression test, ``rtol`` and ``atol = k * max|expected|``, with
``numpy.testing.assert_allclose`` (which applies them as ``torch.testing.assert_close`` does:
``|actual - expected| <= atol + rtol * |expected|``).
"""

from __future__ import annotations

import argparse

import numpy as np

import paddlefocal.nn.functional as F

#: The tolerance the Porting page recommends, per dtype: rtol, and atol as a fraction of the largest
#: magnitude of the expected (Paddle's) values, so that one rule fits losses and normalized gradients.
RECOMMENDED = {np.float32: (1e-5, 1e-6), np.float64: (1e-10, 1e-14)}


def make_input(shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logit = rng.normal(0.0, 2.0, size=shape)
    label = (rng.random(shape) < 0.01).astype(np.float64)
    # Ignored anchors: every class of about 0.2% of the anchors carries Paddle's ignore_index.
    ignored = rng.random(shape[:-1]) < 0.002
    label[ignored] = -100.0
    return logit, label


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How many representable numbers lie between a and b (0 where their bits are equal)."""
    kind = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}[a.dtype]
    ia, ib = a.view(kind).astype(np.int64), b.view(kind).astype(np.int64)
    # Map the sign-magnitude bit patterns onto a monotonic integer line.
    lowest = np.iinfo(kind).min
    ia = np.where(ia < 0, lowest - ia, ia)
    ib = np.where(ib < 0, lowest - ib, ib)
    return np.abs(ia - ib)


def compare(ours: np.ndarray, theirs: np.ndarray, exact: np.ndarray) -> dict[str, float]:
    """Agreement of ours with Paddle's, and each one's worst relative error against ``exact``."""
    tiny = np.finfo(ours.dtype).tiny
    normal = np.abs(exact) >= tiny

    def worst_rel(a: np.ndarray, b: np.ndarray) -> float:
        sel = normal & (np.abs(b) >= tiny)
        rel = np.abs(a[sel].astype(np.float64) - b[sel]) / np.abs(b[sel])
        return float(rel.max()) if rel.size else 0.0

    ulps = ulp_distance(ours, theirs)
    return {
        "bit_equal": float(np.mean(ours == theirs)),
        "ulp_p999": float(np.quantile(ulps, 0.999)),
        "max_ulp": int(ulps.max()),
        "max_rel": worst_rel(ours, theirs),
        "max_abs": float(np.max(np.abs(ours.astype(np.float64) - theirs))),
        "scaled_abs": float(
            np.max(np.abs(ours.astype(np.float64) - theirs)) / np.max(np.abs(theirs))
        ),
        "ours_err": worst_rel(ours, exact),
        "paddle_err": worst_rel(theirs, exact),
    }


def paddle_values(logit, label, normalizer):
    import paddle
    import paddle.nn.functional as PF

    x = paddle.to_tensor(logit, stop_gradient=False)
    y = paddle.to_tensor(label)
    n = paddle.to_tensor(normalizer)
    none = PF.sigmoid_focal_loss(x, y, reduction="none").numpy()
    total = PF.sigmoid_focal_loss(x, y, normalizer=n, reduction="sum")
    total.backward()
    return none, total.numpy(), x.grad.numpy()


def torch_values(logit, label, normalizer):
    import torch

    x = torch.from_numpy(logit).requires_grad_(True)
    y = torch.from_numpy(label)
    n = torch.from_numpy(normalizer)
    none = F.sigmoid_focal_loss(x, y, reduction="none").detach().numpy()
    total = F.sigmoid_focal_loss(x, y, normalizer=n, reduction="sum")
    total.backward()
    return none, total.detach().numpy(), x.grad.numpy()


def numpy_values(logit, label, normalizer):
    none = F.sigmoid_focal_loss(logit, label, reduction="none")
    total = F.sigmoid_focal_loss(logit, label, normalizer=normalizer, reduction="sum")
    return none, np.asarray(total), None


def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("| --- " * len(header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", type=int, nargs="+", default=[4, 20000, 80])
    args = parser.parse_args()
    shape = tuple(args.shape)
    logit64, label64 = make_input(shape)
    num_pos = np.asarray(max(float(np.sum(label64 == 1)), 1.0))
    print(
        f"input {'x'.join(map(str, shape))}: logit ~ N(0, 2**2), {np.mean(label64 == 1):.2%} labels 1, "
        f"{np.mean(label64 == -100):.2%} labels -100, normalizer {num_pos:.0f}, alpha 0.25, gamma 2"
    )
    # The float64 evaluation of the same input (ours; it agrees with Paddle's float64 to about 1e-15)
    # is the yardstick for each float32 result's own error.
    exact_none, exact_sum, exact_grad = torch_values(logit64, label64, num_pos)
    elements, sums, grads, checks = [], [], [], []
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        logit, label = logit64.astype(dtype), label64.astype(dtype)
        normalizer = num_pos.astype(dtype)
        p_none, p_sum, p_grad = paddle_values(logit, label, normalizer)
        for path, run in (("NumPy", numpy_values), ("torch", torch_values)):
            o_none, o_sum, o_grad = run(logit, label, normalizer)
            v = compare(o_none, p_none, exact_none)
            elements.append(
                [
                    name,
                    path,
                    f"{v['bit_equal']:.1%}",
                    f"{v['ulp_p999']:.0f} / {v['max_ulp']}",
                    f"{v['max_rel']:.1e}",
                    f"{v['max_abs']:.1e}",
                    f"{v['scaled_abs']:.1e}",
                    f"{v['ours_err']:.1e} / {v['paddle_err']:.1e}",
                ]
            )
            rel = abs(float(o_sum) - float(p_sum)) / abs(float(p_sum))
            sums.append(
                [
                    name,
                    path,
                    f"{rel:.1e}",
                    f"{abs(float(o_sum) - float(exact_sum)) / abs(float(exact_sum)):.1e}",
                    f"{abs(float(p_sum) - float(exact_sum)) / abs(float(exact_sum)):.1e}",
                ]
            )
            pairs = [(o_none, p_none), (o_sum, p_sum)]
            if o_grad is not None:
                g = compare(o_grad, p_grad, exact_grad)
                grads.append(
                    [
                        name,
                        path,
                        f"{g['bit_equal']:.1%}",
                        f"{g['ulp_p999']:.0f} / {g['max_ulp']}",
                        f"{g['max_rel']:.1e}",
                        f"{g['max_abs']:.1e}",
                        f"{g['scaled_abs']:.1e}",
                        f"{g['ours_err']:.1e} / {g['paddle_err']:.1e}",
                    ]
                )
                pairs.append((o_grad, p_grad))
            rtol, scale = RECOMMENDED[dtype]
            for ours, theirs in pairs:
                try:
                    atol = scale * float(np.max(np.abs(theirs)))
                    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)
                    checks.append(True)
                except AssertionError:
                    checks.append(False)
    per_element = [
        "dtype",
        "path",
        "bit-equal",
        "ulp: 99.9% / max",
        "max rel",
        "max abs",
        "max abs / largest of Paddle's",
        "rel error vs float64: ours / Paddle",
    ]
    _table("**Per element, reduction 'none'**", per_element, elements)
    _table(
        "**The normalized sum**",
        ["dtype", "path", "rel vs Paddle", "rel error vs float64, ours", "Paddle's"],
        sums,
    )
    _table("**Gradient to logit of the normalized sum**", per_element, grads)
    verdict = "passes" if all(checks) else "FAILS"
    tolerances = ", ".join(
        f"{np.dtype(d).name} rtol={r:g} atol={a:g} x largest |Paddle value|"
        for d, (r, a) in RECOMMENDED.items()
    )
    print(f"\nrecommended tolerance ({tolerances}): {verdict} on every row")


if __name__ == "__main__":
    main()
