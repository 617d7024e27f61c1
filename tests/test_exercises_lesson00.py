import torch

from cl_lessons import exercises as ex


def correct(a, b):
    return ((a - b) ** 2).sum(dim=-1).sqrt()


def test_accepts_a_correct_solution():
    result = ex.check_euclidean(correct)
    assert result and result.passed
    assert "PASSED" in repr(result) and "passed" in result._repr_html_()


def test_accepts_the_package_function():
    assert ex.check_euclidean(lambda a, b: torch.linalg.vector_norm(a - b, dim=1))


def test_rejects_typical_mistakes_with_a_hint():
    cases = {
        "squared": (lambda a, b: ((a - b) ** 2).sum(-1), "square root"),
        "l1": (lambda a, b: (a - b).abs().sum(-1), "Manhattan"),
        "no_sum": (lambda a, b: ((a - b) ** 2).sqrt(), "sum the squares"),
        "whole_batch": (lambda a, b: ((a - b) ** 2).sum().sqrt(), "single number"),
        "dot_on_batch": (lambda a, b: torch.dot(a, b), "RuntimeError"),
        "forgot_return": (lambda a, b: None, "return"),
    }
    for name, (fn, hint) in cases.items():
        result = ex.check_euclidean(fn)
        assert not result, name
        assert hint in result.message, (name, result.message)


def test_stub_reports_not_implemented():
    def stub(a, b):
        raise NotImplementedError

    result = ex.check_euclidean(stub)
    assert not result and "not implemented" in result.message
