"""Hand-made mutants (a one-line bug each) against the quick suite: how many does it catch?

    python benchmarks/mutants.py                  # every mutant; caught/total and the survivors
    python benchmarks/mutants.py --list           # the catalogue, checked against the code
    python benchmarks/mutants.py --only 3,7       # some of them (by number, as --list shows)
    python benchmarks/mutants.py --exclude tests/test_mutant_targets.py   # the suite without a file

The quick suite is one pytest command, run in the repository root (here, in a copy of it):

    python -m pytest -m "not slow" -x -q -p no:cacheprovider tests/test_mutant_targets.py
        tests/test_kernels.py tests/test_numpy_path.py tests/test_hostile_catalogue.py
        tests/test_differences.py tests/test_hostile_normalizer.py tests/test_hostile_alpha_gamma.py
        tests/test_fast_paths.py tests/test_validation.py tests/test_conformance.py
        tests/test_numerics.py tests/test_gpu_no_sync.py

(about 2 minutes on 2 cores when nothing fails). A mutant is caught when that command fails (or
runs past ``--timeout``).

Each mutant is a file, a substring of it that must occur exactly once (so the catalogue fails loudly
when the code drifts), its replacement and a one-line description. The run never edits the working
tree: the tracked (and untracked, not ignored) files are copied to ``/tmp/paddlefocal-mutants/copy``
(``PADDLEFOCAL_MUTANTS_DIR`` moves the folder: two runs at once need two), and the suite runs there in
a dedicated virtual environment (``/tmp/paddlefocal-mutants/venv``, made once with
``--system-site-packages`` so that it sees the installed torch, Paddle, pytest) whose ``.pth`` file
puts a finder first on ``sys.meta_path``: ``paddlefocal`` from ``copy/paddlefocal`` and
``paddlefocal.backends`` from ``copy/backends``. A plain ``PYTHONPATH`` would not do: the subpackage is
mapped from the top-level ``backends/`` folder by the package-dir table, and the working tree's own
editable install would serve it from the working tree. Before the mutants, the run checks that the
copy is what Python imports, that the unmutated suite passes, and that a deliberately fatal mutant of
``backends/`` is caught. Bytecode is not written (a mutant of the same size written within the same
second as the original could otherwise be served from a stale ``.pyc``).

When the catalogue was written, the suite without ``tests/test_mutant_targets.py`` caught 32 of the 56
mutants (57%) and the whole quick suite 55 (98%).

Mutant 38 is equivalent but for rounding: NumPy's second subnormal check (``1 - p_t``) fails only
where the first (``exp(-|x|)``) has already declined the block, or within a few ulps of it, as
``1 - p_t = sigmoid(x) (1 - y) + sigmoid(-x) y`` is at least about ``exp(-|x|)`` for labels in [0, 1].
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("PADDLEFOCAL_MUTANTS_DIR", "/tmp/paddlefocal-mutants"))
COPY = WORK / "copy"
VENV = WORK / "venv"

QUICK_SUITE = [
    "tests/test_mutant_targets.py",
    "tests/test_kernels.py",
    "tests/test_numpy_path.py",
    "tests/test_hostile_catalogue.py",
    "tests/test_differences.py",
    "tests/test_hostile_normalizer.py",
    "tests/test_hostile_alpha_gamma.py",
    "tests/test_fast_paths.py",
    "tests/test_validation.py",
    "tests/test_conformance.py",
    "tests/test_numerics.py",
    "tests/test_gpu_no_sync.py",
]
PYTEST = ["-m", "pytest", "-m", "not slow", "-x", "-q", "-p", "no:cacheprovider"]


@dataclass(frozen=True)
class Mutant:
    file: str
    original: str
    replacement: str
    description: str


M = Mutant
NP, DRV, REF = "backends/numpy.py", "paddlefocal/_driver.py", "paddlefocal/_reference.py"
SC = "backends/_scalar.py"
TK, TP = "backends/_torch_kernels.py", "backends/torch.py"
VAL, KIN = "paddlefocal/_validation.py", "paddlefocal/_kinds.py"
CLI = "paddlefocal/_cli/bench/__init__.py"

#: The catalogue. The classes of the issue come first (float32 block sums, the log1p correction,
#: rounding before dividing, torch's blocked mean, the jvp's normalizer tangent, the branch-free -100
#: rule, alpha at the bound, the normalizer's early route, the meta normalizer, bench's largest size).
CATALOGUE: list[Mutant] = [
    # --- accumulation in float32 instead of float64
    M(
        NP,
        "total = float(_sum(dest, dtype=np.float64))",
        "total = float(_sum(dest))",
        "numpy block sums kept in the block's dtype (float32) instead of float64",
    ),
    M(
        REF,
        "    acc = accumulation_dtype(xp, loss.dtype)\n",
        "    acc = loss.dtype\n",
        "reference total summed in the input dtype instead of float64",
    ),
    M(
        DRV,
        "    total = xp.sum(values, dtype=accumulation_dtype(xp, values.dtype))",
        "    total = xp.sum(values)",
        "declined block (reference fallback) summed in float32",
    ),
    # --- NumPy's log1p correction (the branch where log1p is not vectorized)
    M(
        NP,
        "        np.subtract(d, f, out=d)",
        "        np.add(d, f, out=d)",
        "log1p correction applied with its sign flipped",
    ),
    M(
        NP,
        "        np.subtract(f, d, out=f)",
        "        np.subtract(d, f, out=f)",
        "log1p correction term (u - 1) - e computed as e - (u - 1)",
    ),
    # --- the reduction's rounding and divisions
    M(
        DRV,
        "        value = total\n",
        "        value = float(np.asarray(total, dtype=dtype))\n",
        "numpy total rounded to the dtype before it is divided (1 ulp)",
    ),
    M(
        DRV,
        "        total = total / normalizer  #",
        "        total = xp.astype(total, dtype) / normalizer  #",
        "torch total rounded to the dtype before the normalizer divides it",
    ),
    M(
        DRV,
        "        total = total / n if n else total * math.nan",
        "        total = total / (n - 1) if n else total * math.nan",
        "torch 'mean' (device totals) divides by n - 1",
    ),
    M(
        DRV,
        "            value = value / n if n else math.nan",
        "            value = value / (n - 1) if n > 1 else math.nan",
        "numpy 'mean' divides by n - 1",
    ),
    M(
        DRV,
        "    for t in totals[1:]:",
        "    for t in totals[2:]:",
        "torch's blocked total drops the second block (over 65,536 elements)",
    ),
    M(
        DRV,
        "    count = -(-n // size) if n else 1",
        "    count = n // size if n else 1",
        "the partial last block is dropped",
    ),
    M(
        DRV,
        "lo, hi = i * size, min(n, (i + 1) * size)",
        "lo, hi = i * size, min(n, (i + 1) * size - 1)",
        "off-by-one: each block leaves out its last element",
    ),
    M(
        DRV,
        "value = float(np.float64(value) / np.float64(divisor))",
        "value = float(np.float64(value) / np.float64(abs(divisor)))",
        "zero normalizer: the sign of -0.0 is lost (inf instead of -inf)",
    ),
    M(
        DRV,
        "                    result /= call.normalizer\n",
        "                    result *= call.normalizer\n",
        "numpy 'none' multiplied by the normalizer",
    ),
    M(
        REF,
        "        total = total / size if size else total * math.nan",
        "        total = total / (size - 1) if size else total * math.nan",
        "reference 'mean' divides by n - 1",
    ),
    # --- gradients
    M(
        DRV,
        "        grad *= 1.0 / n",
        "        grad *= 1.0 / (n - 1)",
        "driver's 'mean' gradient scaled by 1 / (n - 1)",
    ),
    M(
        DRV,
        "        grad /= call.normalizer",
        "        grad *= call.normalizer",
        "driver's gradient multiplied by the normalizer",
    ),
    M(
        TP,
        "            tangent = tangent - per_element * (t_norm / normalizer)",
        "            tangent = tangent + per_element * (t_norm / normalizer)",
        "torch jvp: the normalizer tangent with its sign flipped",
    ),
    M(
        TP,
        "            d_norm = -torch.sum(up * per_element) / normalizer",
        "            d_norm = torch.sum(up * per_element) / normalizer",
        "torch backward: d / d normalizer with its sign flipped",
    ),
    M(
        TP,
        "        grad_out = grad_out / n\n",
        "        grad_out = grad_out / (n - 1)\n",
        "torch backward's 'mean' cotangent divided by n - 1",
    ),
    # --- the torch kernels
    M(
        TK,
        "    kept = y != -100.0",
        "    kept = y != 100.0",
        "branch-free kernel: the ignore label taken as +100",
    ),
    M(
        TK,
        "    ce = torch.where(kept, ce, 0.0)",
        "    ce = torch.where(kept, ce, ce)",
        "branch-free kernel: an ignored element keeps its cross-entropy",
    ),
    M(
        TK,
        "    q = torch.where(kept, s * (1.0 - y) + sn * y, 1.0)",
        "    q = torch.where(kept, s * (1.0 - y) + sn * y, 0.0)",
        "branch-free kernel: an ignored element gets 1 - p_t = 0 (nan gradient)",
    ),
    M(
        TK,
        "    near = 0.5 if x.dtype == torch.float32 else 0.125",
        "    near = 0.5",
        "branch-free kernel: the float32 series bound used in float64",
    ),
    M(
        TK,
        "torch.clamp(z, max=0.0) - l1p",
        "torch.clamp(z, min=0.0) - l1p",
        "branch-free kernel: log q of a hard label clamps the wrong side",
    ),
    # --- the numpy kernels' gradient (torch's CPU kernel)
    M(
        NP,
        "    np.multiply(y, np.asarray(-2.0 * gamma, dtype), out=sn)",
        "    np.multiply(y, np.asarray(2.0 * gamma, dtype), out=sn)",
        "numpy gradient: d q / dx's factor 1 - 2y as 1 + 2y",
    ),
    M(
        NP,
        "    np.multiply(dce, _MINUS_TWO[dtype], out=dce)",
        "    np.multiply(dce, -_MINUS_TWO[dtype], out=dce)",
        "numpy gradient: d ce / dx as q + 2 s' y",
    ),
    M(
        NP,
        "        np.less(half, one, out=pick)",
        "        np.less(half, 0.0, out=pick)",
        "numpy soft-label gradient never takes the tanh form near 0",
    ),
    M(
        NP,
        "        soft = not _min(t) >= 0.0",
        "        soft = False",
        "numpy: a block of soft labels taken as hard (no tanh form near 0)",
    ),
    M(
        "backends/_torch_cpu_op.py",
        "    return run(call, kernel, block, True, want_grad, torch.get_num_threads())",
        "    return run(call, kernel, None, True, want_grad, torch.get_num_threads())",
        "torch CPU tensors as one block (no blocking)",
    ),
    # --- the numpy kernels
    M(
        NP,
        "    np.minimum(t, out, out=t)",
        "    np.maximum(t, out, out=t)",
        "numpy ce: max(x (1 - y), -x y) taken with the wrong extremum",
    ),
    M(
        NP,
        "    np.add(ym, np.asarray(1.0 - alpha, dtype), out=ym)",
        "    np.add(ym, np.asarray(alpha, dtype), out=ym)",
        "numpy alpha_t: alpha and 1 - alpha swapped",
    ),
    M(
        NP,
        "    if not _min(d) >= tiny:",
        "    if not _min(d) > 0.0:",
        "declined-block predicate: subnormal exp(-|x|) taken by the numpy kernel",
    ),
    M(
        NP,
        "        if not _min(q) >= tiny:",
        "        if not _min(q) > 0.0:",
        "declined-block predicate: subnormal 1 - p_t taken by the numpy kernel",
    ),
    M(
        NP,
        "        np.power(q, gamma, out=weight)",
        "        np.power(q, gamma - 1.0, out=weight)",
        "numpy focal factor: q ** (gamma - 1)",
    ),
    M(
        NP,
        "    if not (_min(y) >= 0.0 and _max(y) <= 1.0):",
        "    if not (_min(y) >= 0.0 and _max(y) < 1.0):",
        "declined-block predicate: every block with a label 1 declined",
    ),
    M(
        NP,
        "    return total if math.isfinite(total) else None",
        "    return total",
        "numpy kernel keeps a block with a non-finite logit",
    ),
    M(
        SC,
        "        ce = log1p(e) + max(xi * (1.0 - yi), -xi * yi)",
        "        ce = log1p(e) + max(xi * (1.0 - yi), xi * yi)",
        "tiny kernel: wrong sign of x y for a negative logit",
    ),
    M(
        SC,
        "        if q < 2.2250738585072014e-308 and gamma != 0.0:",
        "        if q < 2.2250738585072014e-308 and gamma > 1.0:",
        "tiny kernel: subnormal 1 - p_t kept for 0 < gamma <= 1",
    ),
    M(
        NP,
        "    chosen = tiny_kernel if x.shape[0] <= TINY else block_kernel",
        "    chosen = tiny_kernel if x.shape[0] < TINY else block_kernel",
        "off-by-one: 16 elements take the ufunc kernel",
    ),
    # --- reference, driver choice
    M(
        REF,
        "    return alpha * y + (1.0 - alpha) * (1.0 - y)",
        "    return (1.0 - alpha) * y + alpha * (1.0 - y)",
        "reference alpha_t: alpha and 1 - alpha swapped",
    ),
    M(
        REF,
        "    tiny = e < 1e-5\n",
        "    tiny = e < 1e-3\n",
        "reference: log1p(t) / t series used up to t = 1e-3 (gamma < 0)",
    ),
    M(
        DRV,
        "    return type(call.alpha) is float and type(call.gamma) is float and call.gamma >= 0.0",
        "    return type(call.alpha) is float and type(call.gamma) is float and call.gamma > 0.0",
        "gamma 0 (weighted BCE) never takes a kernel",
    ),
    # --- validation
    M(
        VAL,
        "    if math.isfinite(number) and abs(number) <= limit:",
        "    if math.isfinite(number) and abs(number) < limit:",
        "a 0-D array alpha exactly at the dtype's bound refused (the same float passes)",
    ),
    M(
        VAL,
        "        if type(normalizer) is not type(logit) or normalizer.dtype is not dtype or normalizer.ndim:",
        "        if type(normalizer) is not type(logit) or normalizer.dtype.kind != 'f' or normalizer.ndim:",
        "normalizer early route takes any float dtype (float16, longdouble) uncast",
    ),
    M(
        VAL,
        '_FLOATING = ("float16", "bfloat16", "float32", "float64")',
        '_FLOATING = ("float16", "bfloat16", "float32", "float64", "longdouble")',
        "a longdouble normalizer accepted",
    ),
    M(
        VAL,
        "            or (normalizer is not None and where(normalizer) != device)",
        "            or (normalizer is not None and where(label) != device)",
        "a normalizer on another device (meta) accepted",
    ),
    M(
        VAL,
        '    for name, value in arrays:\n        if getattr(value, "is_meta", False) is True:',
        '    for name, value in arrays[:2]:\n        if getattr(value, "is_meta", False) is True:',
        "a meta normalizer gets the generic device message, not the meta one",
    ),
    M(
        VAL,
        "    return normalizer if dtype == logit.dtype else xp.astype(normalizer, logit.dtype)",
        "    return normalizer",
        "normalizer not cast to logit's dtype",
    ),
    M(
        VAL,
        "    if integral and normalizer.ndim:",
        "    if integral and normalizer.ndim > 1:",
        "an integer normalizer of shape [1] accepted",
    ),
    M(
        KIN,
        "            limits[dtype] = float(namespace.finfo(dtype).max) / 2",
        "            limits[dtype] = float(namespace.finfo(dtype).max)",
        "alpha and gamma bounds at the dtype's max, not half of it",
    ),
    # --- the command line
    M(
        CLI,
        "        if not 0 <= value <= max_log2n:",
        "        if not 0 <= value < max_log2n:",
        "bench --max-log2n 30 refused",
    ),
    # --- added with the tiny kernel's derivative and the GPU range check
    M(
        SC,
        "0.5 * tanh(0.5 * xi) + (0.5 - yi)",
        "0.5 * tanh(0.5 * xi) + (yi - 0.5)",
        "tiny kernel: d ce / dx near 0 with the label's sign flipped",
    ),
    M(
        SC,
        "q ** (gamma - 1.0) * (gamma * dq * ce + q * dce)",
        "q**gamma * (gamma * dq * ce + q * dce)",
        "tiny kernel: d loss / dx with q**gamma for q**(gamma - 1)",
    ),
    M(
        KIN,
        'if torch.compiler.is_compiling() or value.device.type != "cpu":',
        'if torch.compiler.is_compiling() or value.device.type == "meta":',
        "a 0-D tensor alpha on a GPU read back (a synchronization)",
    ),
]

#: Must be caught: proof that the mutated copy is what the suite imports (a mutant of backends/).
CANARY = M(
    NP,
    "    chosen = tiny_kernel if x.shape[0] <= TINY else block_kernel",
    "    raise RuntimeError('canary')",
    "fatal: the numpy kernel raises",
)


def _run(cmd: list[str], cwd: Path, timeout: float) -> tuple[int, float, str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
        return done.returncode, time.perf_counter() - start, done.stdout + done.stderr
    except subprocess.TimeoutExpired:
        return -1, time.perf_counter() - start, "timeout"


def _files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [f for f in out.split("\0") if f and (ROOT / f).is_file()]


def sync() -> None:
    """A fresh copy of the working tree's files (no build outputs, no bytecode)."""
    if COPY.exists():
        shutil.rmtree(COPY)
    for name in _files():
        dest = COPY / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, dest)


def python() -> str:
    return str(VENV / "bin" / "python")


#: Put first on ``sys.meta_path`` by a ``.pth`` file of the environment: the package and its
#: ``backends`` subpackage from the copy, as the package-dir table maps them.
FINDER = """
import sys
from importlib.util import spec_from_file_location

MAPPING = {"paddlefocal": %r, "paddlefocal.backends": %r}


class CopyFinder:
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        root = MAPPING.get(fullname)
        if root is None:
            return None
        return spec_from_file_location(
            fullname, root + "/__init__.py", submodule_search_locations=[root]
        )


sys.meta_path.insert(0, CopyFinder)
"""


def ensure_venv() -> None:
    """The dedicated environment, whose ``paddlefocal`` is the copy's (made once)."""
    if not (VENV / "bin" / "python").exists():
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run(
            [base, "-m", "venv", "--without-pip", "--system-site-packages", str(VENV)], check=True
        )
    rc, _, out = _run(
        [python(), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], WORK, 120
    )
    site = Path(out.strip())
    (site / "_paddlefocal_copy.py").write_text(
        FINDER % (str(COPY / "paddlefocal"), str(COPY / "backends"))
    )
    (site / "_paddlefocal_copy.pth").write_text("import _paddlefocal_copy\n")
    probe = "import paddlefocal.backends.numpy as m, paddlefocal as p; print(m.__file__); print(p.__file__)"
    rc, _, out = _run([python(), "-c", probe], WORK, 120)
    paths = out.split()
    if rc != 0 or len(paths) != 2 or not all(p.startswith(str(COPY)) for p in paths):
        raise SystemExit(f"the copy is not what the environment imports:\n{out}")


def check(catalogue: list[Mutant]) -> None:
    """Every original substring occurs exactly once in its file (of the working tree)."""
    bad = []
    for i, m in enumerate(catalogue, 1):
        count = (ROOT / m.file).read_text().count(m.original)
        if count != 1 or m.original == m.replacement:
            bad.append(f"#{i} {m.file}: {m.original.strip()!r} occurs {count} times")
    if bad:
        raise SystemExit("the catalogue no longer matches the code:\n" + "\n".join(bad))


def suite(exclude: list[str]) -> list[str]:
    return [f for f in QUICK_SUITE if f not in exclude and (COPY / f).exists()]


def run_mutant(m: Mutant, tests: list[str], timeout: float) -> tuple[bool, float, str]:
    path = COPY / m.file
    text = path.read_text()
    assert text.count(m.original) == 1, (m.file, m.original)
    path.write_text(text.replace(m.original, m.replacement))
    try:
        rc, seconds, out = _run([python(), *PYTEST, *tests], COPY, timeout)
    finally:
        path.write_text(text)
    tail = out.strip().splitlines()[-1] if out.strip() else ""
    return rc != 0, seconds, tail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true", help="print the catalogue and stop")
    parser.add_argument("--only", help="comma-separated mutant numbers (1-based)")
    parser.add_argument("--exclude", action="append", default=[], help="a test file to leave out")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per mutant")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    check([*CATALOGUE, CANARY])
    if args.list:
        for i, m in enumerate(CATALOGUE, 1):
            print(f"{i:3d}  {m.file:36s} {m.description}")
        return 0
    chosen = list(range(1, len(CATALOGUE) + 1))
    if args.only:
        chosen = [int(s) for s in args.only.split(",")]
    WORK.mkdir(parents=True, exist_ok=True)
    sync()
    ensure_venv()
    tests = suite(args.exclude)
    print("quick suite:", " ".join(["python", *PYTEST, *tests]), flush=True)
    rc, seconds, out = _run([python(), *PYTEST, *tests], COPY, args.timeout)
    print(f"unmutated: rc {rc} in {seconds:.0f} s: {out.strip().splitlines()[-1]}", flush=True)
    if rc != 0:
        print(out[-4000:])
        raise SystemExit("the unmutated quick suite fails: no score")
    caught, seconds, tail = run_mutant(CANARY, tests, args.timeout)
    print(f"canary: {'caught' if caught else 'NOT CAUGHT'} in {seconds:.0f} s", flush=True)
    if not caught:
        raise SystemExit("a fatal mutant survived: the suite does not run the copy's code")
    results = []
    for i in chosen:
        m = CATALOGUE[i - 1]
        caught, seconds, tail = run_mutant(m, tests, args.timeout)
        results.append(
            {"id": i, **asdict(m), "caught": caught, "seconds": round(seconds, 1), "tail": tail}
        )
        print(
            f"{i:3d} {'caught  ' if caught else 'SURVIVED'} {seconds:5.0f} s  {m.file}: "
            f"{m.description}",
            flush=True,
        )
    survivors = [r for r in results if not r["caught"]]
    n_caught = len(results) - len(survivors)
    print(f"\ncaught {n_caught}/{len(results)} ({100 * n_caught / len(results):.0f}%)")
    for r in survivors:
        print(f"  survived #{r['id']}: {r['file']}: {r['description']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
