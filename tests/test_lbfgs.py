"""Projected L-BFGS (nst.lbfgs) on problems whose box-constrained minimum is known."""

import numpy as np
import pytest
import scipy.optimize
import tensorflow as tf

from nst import lbfgs


def quadratic(matrix: np.ndarray, centre: np.ndarray):
    """f(x) = (x - c)' A (x - c) / 2 over x shaped like ``centre``; records (x, f(x)) of each
    evaluation."""
    a, c = tf.constant(matrix, tf.float32), tf.constant(centre.ravel(), tf.float32)
    evaluations = []

    def value_and_grad(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        r = tf.reshape(x, [-1]) - c
        ar = tf.linalg.matvec(a, r)
        value = 0.5 * tf.reduce_sum(r * ar)
        evaluations.append((x.numpy(), float(value)))
        return value, tf.reshape(ar, x.shape)

    return value_and_grad, evaluations


@pytest.fixture
def problem() -> tuple[np.ndarray, np.ndarray]:
    # Ill-conditioned (eigenvalues 1..1000), correlated, its free minimum partly outside [0, 1].
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(24, 24)))
    matrix = q @ np.diag(np.geomspace(1, 1000, 24)) @ q.T
    centre = rng.uniform(-0.5, 1.5, size=(1, 2, 4, 3))
    return matrix, centre


def scipy_minimum(matrix: np.ndarray, centre: np.ndarray) -> np.ndarray:
    c = centre.ravel()
    result = scipy.optimize.minimize(
        lambda x: (0.5 * (x - c) @ matrix @ (x - c), matrix @ (x - c)),
        np.full(c.size, 0.5),
        jac=True,
        method="L-BFGS-B",
        bounds=scipy.optimize.Bounds(0.0, 1.0),
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000},
    )
    return result.x.reshape(centre.shape)


@pytest.mark.parametrize("metric", [tf.identity, lambda d: d * tf.constant([1.0, 4.0, 0.5])])
def test_reaches_the_box_constrained_minimum(problem, metric) -> None:
    matrix, centre = problem
    value_and_grad, evaluations = quadratic(matrix, centre)
    lbfgs.minimize(value_and_grad, tf.fill(centre.shape, 0.5), metric=metric)
    best, _ = min(evaluations, key=lambda item: item[1])
    np.testing.assert_allclose(best, scipy_minimum(matrix, centre), atol=2e-3)
    # The minimum is on the box's faces, and no evaluated point ever left the box.
    assert ((best == 0) | (best == 1)).any()
    assert all(x.min() >= 0 and x.max() <= 1 for x, _ in evaluations)


def test_converges_in_far_fewer_evaluations_than_the_condition_number(problem) -> None:
    value_and_grad, evaluations = quadratic(*problem)
    lbfgs.minimize(value_and_grad, tf.fill(problem[1].shape, 0.5))
    value_and_grad(tf.constant(scipy_minimum(*problem), tf.float32))
    optimum = evaluations.pop()[1]
    assert min(value for _, value in evaluations) == pytest.approx(optimum, rel=1e-4)
    assert len(evaluations) < 200  # gradient descent would need thousands at condition 1000


def test_an_exception_from_the_objective_ends_the_run(problem) -> None:
    value_and_grad, evaluations = quadratic(*problem)

    def stopping(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if len(evaluations) == 5:
            raise KeyboardInterrupt
        return value_and_grad(x)

    with pytest.raises(KeyboardInterrupt):
        lbfgs.minimize(stopping, tf.fill(problem[1].shape, 0.5))
    assert len(evaluations) == 5


def test_a_start_at_the_minimum_returns_at_once() -> None:
    centre = np.full((1, 2, 2, 3), 1.5)  # the minimum over the box is the corner x = 1
    value_and_grad, evaluations = quadratic(np.eye(12), centre)
    lbfgs.minimize(value_and_grad, tf.ones(centre.shape))
    assert len(evaluations) == 1
