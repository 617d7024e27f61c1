"""Machinery shared by every lesson's ``check_*`` helpers."""

from __future__ import annotations

import contextlib
import functools
import html
import os
import sys
import traceback
from collections.abc import Callable
from typing import TypeVar

from cl_lessons._theme import TEXT_COLOUR

__all__ = [
    "CheckFailed",
    "CheckResult",
    "describe",
    "exercise_check",
    "expect_close",
    "learner_code",
    "returned_tensor",
    "same_values",
]

F = TypeVar("F", bound=Callable[..., object])


class CheckFailed(Exception):
    """Raised inside a check to report a wrong solution with a helpful hint."""


class CheckResult:
    """Outcome of a ``check_*`` call: truthy when the solution passed.

    It shows itself as a coloured box in Jupyter and as one line in a terminal, so a learner can
    simply end a cell with ``cl.exercises.check_something(my_function)``.

    Attributes:
        name: the exercise's title.
        passed: the solution is right.
        message: the hint (or the success message).
        checker_error: the exception of the check's *own* code when it could not handle what the
            learner's function returned (a bug of the check, reported as a plain hint), else
            ``None``.
        reference: the result is the course's reference solution's (a solution cell), not the
            learner's; it is shown greyed and labelled so, never as the learner's success.
    """

    def __init__(
        self,
        name: str,
        passed: bool,
        message: str,
        checker_error: Exception | None = None,
        reference: bool = False,
    ):
        self.name = name
        self.passed = bool(passed)
        self.message = message
        self.checker_error = checker_error
        self.reference = bool(reference)

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        mark = "PASSED" if self.passed else "NOT YET"
        if self.reference:
            return f"[REFERENCE SOLUTION {mark}] {self.name}: {self.message}"
        return f"[{mark}] {self.name}: {self.message}"

    def _repr_html_(self) -> str:
        # Text in the front end's own text colour (JupyterLab's CSS variable, dark theme too;
        # near-black where there is no such variable): readable on any background. The colour
        # that tells passed from not yet is in the border, where 3:1 is enough.
        text = f"color: {TEXT_COLOUR}"
        if self.reference:
            mark = "passes" if self.passed else "FAILS (a bug of the course: please report it)"
            return (
                '<div class="cl-card" style="border-left: 4px solid #999; padding: 4px 10px; '
                f'margin: 4px 0; {text}"><b>{html.escape(self.name)}</b> &mdash; the reference '
                f"solution {mark}. This is the course's solution, not your code: your own result "
                "is the card of the exercise cell above.</div>"
            )
        colour, mark = ("#0072B2", "&#10004; passed") if self.passed else ("#D55E00", "not yet")
        return (
            f'<div class="cl-card" style="border-left: 6px solid {colour}; padding: 4px 10px; '
            f'margin: 4px 0; {text}"><b>{html.escape(self.name)}</b> &mdash; <b>{mark}</b>'
            f"<br>{html.escape(self.message)}</div>"
        )


# ------------------------------------------------------------------- the learner's code
_RAISED_BY_LEARNER = "_cl_lessons_raised_by_learner"
_NOTHING = object()
_EXERCISES_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class _LearnerCode:
    """The learner's callable, as a check calls it: it marks the exceptions raised inside it
    (so the check can tell them from its own) and remembers the last value it returned."""

    def __init__(self, fn, record: list):
        self._fn = fn
        self._record = record  # [last value returned by any learner callable of this check]

    def __call__(self, *args, **kwargs):
        try:
            out = self._fn(*args, **kwargs)
        except Exception as err:
            with contextlib.suppress(AttributeError, TypeError):
                setattr(err, _RAISED_BY_LEARNER, True)
            raise
        self._record[0] = out
        return out

    def __getattr__(self, name):
        if name in ("_fn", "_record"):  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self._fn, name)


def learner_code(fn):
    """Mark ``fn`` (a callable built from the learner's code, e.g. their module) as the learner's.

    The checks' arguments are marked already; a check uses this for callables it gets *from*
    them, like the network a learner's class builds, so that an exception raised inside is
    reported as the learner's ("your code raised ...") and not as a failure of the check.
    """
    if isinstance(fn, _LearnerCode):
        return fn
    return _LearnerCode(fn, [_NOTHING])


def describe(value) -> str:
    """How a hint names a value: ``a dict``, ``None``, ``a Tensor of shape (3,) and dtype ...``."""
    if value is _NOTHING:
        return "nothing"
    if value is None:
        return "None"
    kind = type(value).__name__
    kind = f"{'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}"
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        where = " on the meta device" if getattr(value, "is_meta", False) else ""
        return f"{kind} of shape {tuple(shape)} and dtype {dtype}{where}"
    return kind


def _learner_location(err: BaseException) -> str:
    """`` (line N of f)`` for the deepest frame outside the checks, or ``""``."""
    frames = [
        f
        for f in traceback.extract_tb(err.__traceback__)
        if not os.path.abspath(f.filename).startswith(_EXERCISES_DIR)
    ]
    return f" (line {frames[-1].lineno} of {frames[-1].name})" if frames else ""


def _is_stub(err: NotImplementedError) -> bool:
    """The learner's own ``raise NotImplementedError`` (the unfilled stub), not one that a library
    raised for an operation it does not support (e.g. torch on a sparse tensor)."""
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return True
    last = frames[-1]
    libraries = [
        os.path.dirname(os.path.abspath(m.__file__)) + os.sep
        for m in (sys.modules.get("torch"), sys.modules.get("numpy"))
        if m is not None and getattr(m, "__file__", None)
    ]
    if any(os.path.abspath(last.filename).startswith(lib) for lib in libraries):
        return False
    line = (last.line or "").strip()
    return not line or line.startswith("raise")


def exercise_check(name: str, success: str = "well done.") -> Callable[[F], F]:
    """Turn a function that raises :class:`CheckFailed` into a friendly ``check_*`` helper.

    The wrapped check returns a :class:`CheckResult` instead of raising: a ``CheckFailed`` becomes
    its hint, a ``NotImplementedError`` raised by the learner's code (the stub a learner has not
    filled in yet) becomes "not implemented yet", and any other exception raised by the learner's
    code is reported with its type, message and the line of the learner's code where it happened.

    The callables passed to the check are the learner's code: an exception raised inside them is
    theirs. An exception raised by the check's own code (a value it did not foresee) is never
    blamed on the learner: it becomes a plain hint that describes what their function returned,
    and is kept in :attr:`CheckResult.checker_error`.

    Every wrapped check also takes ``reference=True``, which a lesson's (hidden) solution cell
    passes: its card then says that it is the reference solution's result, so a learner who opens
    the solution never reads its "passed" as their own.

    Args:
        name: the exercise's title, shown in the result.
        success: the message shown when every case passes.
    """

    def decorate(check: F) -> F:
        @functools.wraps(check)
        def wrapper(*args, reference: bool = False, **kwargs) -> CheckResult:
            result = _run(args, kwargs)
            result.reference = bool(reference)
            return result

        def _run(args, kwargs) -> CheckResult:
            given = args[0] if args else next(iter(kwargs.values()), _NOTHING)
            if not callable(given):
                got = (
                    ""
                    if given is _NOTHING
                    else f", not the value it returns (got {describe(given)})"
                )
                return CheckResult(
                    name,
                    False,
                    f"pass your function itself, e.g. {check.__name__}(my_function){got}.",
                )
            record = [_NOTHING]
            args = tuple(_LearnerCode(a, record) if callable(a) else a for a in args)
            kwargs = {k: _LearnerCode(v, record) if callable(v) else v for k, v in kwargs.items()}
            try:
                check(*args, **kwargs)
            except CheckFailed as err:
                return CheckResult(name, False, str(err))
            except Exception as err:
                if not getattr(err, _RAISED_BY_LEARNER, False):  # the check's own failure
                    return CheckResult(
                        name,
                        False,
                        f"could not check what your function returned ({describe(record[0])}): "
                        "compare its type, shape and dtype with what the exercise asks for. "
                        f"(The check itself failed with {type(err).__name__}: {err})",
                        checker_error=err,
                    )
                if isinstance(err, NotImplementedError) and _is_stub(err):
                    return CheckResult(
                        name, False, "not implemented yet: replace the `raise NotImplementedError`."
                    )
                return CheckResult(
                    name,
                    False,
                    f"your code raised {type(err).__name__}: {err}{_learner_location(err)}",
                )
            return CheckResult(name, True, success)

        return wrapper  # type: ignore[return-value]

    return decorate


def expect_close(
    got, want, what: str, *, atol: float = 1e-5, rtol: float = 1e-4, hint: str = ""
) -> None:
    """Compare a learner's tensor with the expected one, raising :class:`CheckFailed` with a hint.

    Args:
        got: the learner's value (a tensor, an array or a number).
        want: the expected tensor.
        what: what is being compared, for the message ("the distances for a 3x2 batch").
        atol: absolute tolerance.
        rtol: relative tolerance.
        hint: appended to the message when the values differ.

    Raises:
        CheckFailed: wrong type, shape, non-finite values, or values out of tolerance.
    """
    import torch

    want = torch.as_tensor(want)
    got = returned_tensor(got, what, f"a tensor of shape {tuple(want.shape)}")
    if got.shape != want.shape:
        raise CheckFailed(f"{what}: expected shape {tuple(want.shape)}, got {tuple(got.shape)}")
    got = got.detach().to("cpu", torch.float64)
    want = want.detach().to("cpu", torch.float64)
    if not torch.isfinite(got).all():
        raise CheckFailed(f"{what}: your result contains NaN or Inf")
    if not torch.allclose(got, want, atol=atol, rtol=rtol):
        worst = (got - want).abs().max().item()
        msg = f"{what}: values differ from the expected ones (largest difference {worst:.3g})."
        raise CheckFailed(f"{msg} {hint}".strip())


def returned_tensor(got, what: str, expected: str = "a tensor"):
    """The learner's value as a real-valued tensor with values, or :class:`CheckFailed` saying why.

    Accepts what ``torch.as_tensor`` turns into numbers (a tensor, a NumPy array, a number, a
    list of numbers), so no correct answer is refused for its container.

    Args:
        got: what the learner's function returned.
        what: the case being checked, for the message.
        expected: what the exercise asks for, e.g. ``"a tensor of shape (N,)"``.

    Raises:
        CheckFailed: ``None``, a value that is not numbers (a dict, a string, a tuple of
            tensors, ...), complex numbers, or a tensor without values (meta device).

    Returns:
        The value as a tensor on the CPU (the same tensor when it is one there already).
    """
    import torch

    if got is None:
        raise CheckFailed(f"{what}: your function returned None; did you forget `return`?")
    if not isinstance(got, torch.Tensor):
        try:
            got = torch.as_tensor(got)
        except (TypeError, ValueError, RuntimeError, OverflowError) as err:
            raise CheckFailed(f"{what}: expected {expected}, got {describe(got)}") from err
    if got.layout != torch.strided:  # a sparse tensor: its values are what counts
        try:
            got = got.to_dense()
        except (RuntimeError, NotImplementedError) as err:
            raise CheckFailed(f"{what}: expected {expected}, got {describe(got)}") from err
    if got.is_meta:
        raise CheckFailed(
            f"{what}: expected {expected}, got a tensor on the meta device (no values)"
        )
    if got.is_complex():
        raise CheckFailed(f"{what}: expected {expected} of real numbers, got dtype {got.dtype}")
    return got.cpu()  # differentiable: a result that tracks gradients still does


def same_values(got, want, *, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """True when ``got`` has ``want``'s shape and values (compared in float64); never raises.

    For the hints of a check: whatever the learner returned (a dict, an integer or complex
    tensor, a tensor on the meta device, ...), the answer is a plain ``False``.
    """
    import torch

    try:
        g = torch.as_tensor(got).detach()
        if g.is_meta or g.is_complex():
            return False
        g = g.to("cpu", torch.float64)
        w = torch.as_tensor(want).detach().to("cpu", torch.float64)
        return g.shape == w.shape and bool(torch.allclose(g, w, atol=atol, rtol=rtol))
    except (TypeError, ValueError, RuntimeError, NotImplementedError, OverflowError):
        return False
