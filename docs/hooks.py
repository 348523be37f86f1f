"""The site's build hook (mkdocs): the math renderer and the figures.

``on_config`` makes sure the pinned KaTeX is bundled (``docs/scripts/fetch_katex.py``, fetched with npm
when missing) or stops the build with one line naming the command: without it every formula would ship
as raw TeX, and a strict build would not notice. ``on_pre_build`` writes ``docs/assets/generated/``: the
loss against p_t for several gammas (after Figure 1 of Lin et al., 2017) and the gradient at saturated
logits, ours beside the naive chain rule.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from typing import Any

import griffe
import numpy as np
from mkdocs.exceptions import PluginError

DOCS = Path(__file__).resolve().parent
OUT = DOCS / "assets" / "generated"
BACKENDS = DOCS.parent / "backends" / "__init__.py"


class BackendsFolder(griffe.Extension):
    """Reads ``backends/`` as ``paddlefocal.backends`` (griffe extension, named in mkdocs.yml).

    setuptools installs the folder under that name (``package-dir``); griffe, reading ``paddlefocal/``
    from source, cannot know it. The public face of the registry is documented under its public name.
    """

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if pkg.name != "paddlefocal" or "backends" in pkg.members:
            return
        module = griffe.visit(
            "backends",
            BACKENDS,
            BACKENDS.read_text(encoding="utf-8"),
            parent=pkg,
            extensions=loader.extensions,
            docstring_parser=loader.docstring_parser,
            docstring_options=loader.docstring_options,
            lines_collection=loader.lines_collection,
            modules_collection=loader.modules_collection,
        )
        pkg.set_member("backends", module)


class ContextManagerReturns(griffe.Extension):
    """Shows a ``@contextlib.contextmanager`` function as returning a context manager.

    Its annotation, ``Iterator[None]``, types the generator the decorator wraps; a caller gets
    ``AbstractContextManager[None]`` (what ``with backends.use("torch"):`` enters).
    """

    def on_function_instance(self, *, func: griffe.Function, **kwargs: Any) -> None:
        wrapped = {"contextlib.contextmanager", "contextmanager"}
        if not any(d.callable_path in wrapped for d in func.decorators):
            return
        returns = func.returns
        inner = returns.slice if isinstance(returns, griffe.ExprSubscript) else None
        text = f"AbstractContextManager[{inner or 'None'}]"
        func.returns = griffe.safe_get_annotation(
            ast.parse(text, mode="eval").body, parent=func.parent
        )


def _fetch_katex_module() -> Any:
    # docs/scripts is not a package: the script is loaded from its file, as the build's own copy.
    spec = importlib.util.spec_from_file_location(
        "fetch_katex", DOCS / "scripts" / "fetch_katex.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_config(config: Any, **kwargs: Any) -> Any:
    katex = _fetch_katex_module()
    try:
        katex.ensure(DOCS / "assets" / "katex")
    except katex.KatexError as exc:
        raise PluginError(
            f"KaTeX {katex.VERSION} is missing and could not be fetched: {exc}. "
            f"Install npm (Node.js) and run: {katex.COMMAND}"
        ) from None
    return config


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
    fig.savefig(path, dpi=160)
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
    fig.savefig(path, dpi=160)
    plt.close(fig)


_CELL = re.compile(r"(<td[^>]*>)(.*?)(</td>)", re.S)
_CODE = re.compile(r"<code>([^<]*)</code>")


def _breakable(code: re.Match[str]) -> str:
    return "<code>" + re.sub(r"([_/]|\.(?=[A-Za-z]))", r"\1<wbr>", code[1]) + "</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    # Long identifiers in table cells (test names, dotted paths) may break after an underscore, a dot
    # or a slash, never mid-word.
    return _CELL.sub(lambda cell: cell[1] + _CODE.sub(_breakable, cell[2]) + cell[3], html)


def on_pre_build(config: Any, **kwargs: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    OUT.mkdir(parents=True, exist_ok=True)
    _loss_against_pt(OUT / "loss_against_pt.png")
    _gradient_at_saturation(OUT / "gradient_at_saturation.png")
