"""Machinery shared by every lesson's ``check_*`` helpers."""

from __future__ import annotations

import functools
import html
import traceback
from collections.abc import Callable
from typing import TypeVar

__all__ = ["CheckFailed", "CheckResult", "exercise_check", "expect_close"]

F = TypeVar("F", bound=Callable[..., object])


class CheckFailed(Exception):
    """Raised inside a check to report a wrong solution with a helpful hint."""


class CheckResult:
    """Outcome of a ``check_*`` call: truthy when the solution passed.

    It shows itself as a coloured box in Jupyter and as one line in a terminal, so a learner can
    simply end a cell with ``cl.exercises.check_something(my_function)``.
    """

    def __init__(self, name: str, passed: bool, message: str):
        self.name = name
        self.passed = bool(passed)
        self.message = message

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        mark = "PASSED" if self.passed else "NOT YET"
        return f"[{mark}] {self.name}: {self.message}"

    def _repr_html_(self) -> str:
        colour, mark = ("#0072B2", "&#10004; passed") if self.passed else ("#D55E00", "not yet")
        return (
            f'<div style="border-left: 4px solid {colour}; padding: 4px 10px; margin: 4px 0">'
            f"<b>{html.escape(self.name)}</b> &mdash; <span style='color:{colour}'>{mark}</span>"
            f"<br>{html.escape(self.message)}</div>"
        )


def exercise_check(name: str, success: str = "well done.") -> Callable[[F], F]:
    """Turn a function that raises :class:`CheckFailed` into a friendly ``check_*`` helper.

    The wrapped check returns a :class:`CheckResult` instead of raising: a ``CheckFailed`` becomes
    its hint, a ``NotImplementedError`` (the stub a learner has not filled in yet) becomes
    "not implemented yet", and any other exception raised by the learner's code is reported with
    its type, message and the line of the learner's code where it happened.

    Args:
        name: the exercise's title, shown in the result.
        success: the message shown when every case passes.
    """

    def decorate(check: F) -> F:
        @functools.wraps(check)
        def wrapper(*args, **kwargs) -> CheckResult:
            try:
                check(*args, **kwargs)
            except CheckFailed as err:
                return CheckResult(name, False, str(err))
            except NotImplementedError:
                return CheckResult(
                    name, False, "not implemented yet: replace the `raise NotImplementedError`."
                )
            except Exception as err:  # the learner's code crashed: say where, briefly
                frames = traceback.extract_tb(err.__traceback__)
                where = f" (line {frames[-1].lineno} of {frames[-1].name})" if frames else ""
                return CheckResult(
                    name, False, f"your code raised {type(err).__name__}: {err}{where}"
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

    if got is None:
        raise CheckFailed(f"{what}: your function returned None; did you forget `return`?")
    if not isinstance(got, torch.Tensor):
        try:
            got = torch.as_tensor(got)
        except (TypeError, ValueError, RuntimeError) as err:
            raise CheckFailed(f"{what}: expected a tensor, got {type(got).__name__}") from err
    want = torch.as_tensor(want)
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
