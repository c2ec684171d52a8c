"""L-BFGS for an image in a box, entirely in TensorFlow, so the hot loop never leaves the device.

scipy's L-BFGS-B needs the image and its gradient on the host in float64 at every evaluation,
and its own bookkeeping costs a share of every evaluation (docs/measurements.md, "Optimizer").
This is the projected variant instead: pixels that the gradient pushes against a bound are held
for the step, the direction comes from the usual two-loop recursion over the last ``history``
steps, the step is clipped back into the box, and a backtracking (Armijo) line search accepts
it. Nearly every step is accepted at the first try, so an iteration costs one evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nst.runtime import tf

ValueAndGrad = Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]
Metric = Callable[[tf.Tensor], tf.Tensor]

SUFFICIENT_DECREASE = 1e-4  # Armijo's constant
FIRST_STEP = 0.05  # the first step (steepest descent) moves the most-changed pixel this much
MAX_HALVINGS = 30


def _dot(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(a * b)


def minimize(
    value_and_grad: ValueAndGrad,
    start: tf.Tensor,
    history: int = 20,
    metric: Metric = tf.identity,
) -> None:
    """Minimise ``value_and_grad``'s value over images in [0, 1] from ``start``.

    ``metric`` is a symmetric positive-definite linear map used as the initial inverse Hessian
    (scaled, as usual, by the latest step's curvature): a preconditioner. Runs until the caller
    stops it by raising from ``value_and_grad`` (which sees every image evaluated), or until no
    step decreases the value any more.
    """
    x = tf.clip_by_value(start, 0.0, 1.0)
    value, grad = value_and_grad(x)
    steps: list[tuple[tf.Tensor, tf.Tensor, tf.Tensor]] = []  # (s, y, 1 / s.y), oldest first
    while True:
        free = tf.cast(~(((x <= 0.0) & (grad > 0)) | ((x >= 1.0) & (grad < 0))), x.dtype)
        two_loop = _compiled_two_loop if len(steps) == history else _two_loop
        direction = -two_loop(grad * free, tuple(steps), metric) * free
        slope = _dot(grad, direction)
        if steps and slope >= 0:  # an uphill direction: forget the curvature, start afresh
            steps.clear()
            direction = -metric(grad * free) * free
            slope = _dot(grad, direction)
        if slope >= 0:  # the projected gradient is zero: a minimum on the box
            return
        step = 1.0 if steps else FIRST_STEP / float(tf.reduce_max(tf.abs(direction)))
        for _ in range(MAX_HALVINGS):
            candidate = tf.clip_by_value(x + step * direction, 0.0, 1.0)
            new_value, new_grad = value_and_grad(candidate)
            # Armijo along the projected path: the decrease the gradient predicts for the move.
            if new_value <= value + SUFFICIENT_DECREASE * _dot(grad, candidate - x):
                break
            step /= 2
        else:
            return  # no decrease found along a descent direction: converged to precision
        if not new_value < value:
            return  # the step no longer changes the image at float precision: converged
        s, y = candidate - x, new_grad - grad
        curvature = _dot(s, y)
        if curvature > 1e-10 * _dot(y, y):  # keep the inverse Hessian model positive definite
            steps.append((s, y, 1.0 / curvature))
            del steps[:-history]
        x, value, grad = candidate, new_value, new_grad


def _two_loop(
    grad: tf.Tensor, steps: Sequence[tuple[tf.Tensor, tf.Tensor, tf.Tensor]], metric: Metric
) -> tf.Tensor:
    """The L-BFGS inverse-Hessian model applied to ``grad`` (Nocedal & Wright, Algorithm 7.4)."""
    q = grad
    alphas = []
    for s, y, rho in reversed(steps):
        alpha = rho * _dot(s, q)
        alphas.append(alpha)
        q = q - alpha * y
    q = metric(q)
    if steps:
        s, y, _ = steps[-1]
        q = q * (_dot(s, y) / _dot(y, metric(y)))
    for (s, y, rho), alpha in zip(steps, reversed(alphas), strict=True):
        q = q + (alpha - rho * _dot(y, q)) * s
    return q


# Compiled, the recursion takes well under half its eager time; it is traced anew for each
# history length, so only the full history, the steady state, uses it.
_compiled_two_loop = tf.function(_two_loop, reduce_retracing=True)
