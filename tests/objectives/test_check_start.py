"""The start check reads the gradient's sum of squares first (one pass, no mask of d booleans) and
looks at every coordinate only when that sum is not finite: the same refusals as before."""

from __future__ import annotations

import numpy as np
import pytest

from optrun.errors import UserCodeError
from optrun.objectives.user import check_start


def check(g, f=1.0):
    check_start("objective 'f'", np.array([f]), np.array([g]), np.zeros(len(g)), "the gradient of 'f'")


def test_finite_gradients_pass_even_when_their_squares_overflow():
    check([1e200, -1e200, 3.0])
    check([0.0, 1.0])


@pytest.mark.parametrize(
    "g, where", [([1.0, np.inf, 2.0], "inf in coordinate 1"), ([np.nan, 1e200, 1.0], "nan in coordinate 0")]
)
def test_the_first_bad_coordinate_is_named(g, where):
    with pytest.raises(UserCodeError) as e:
        check(g)
    assert e.value.message == f"the gradient of 'f' is {where} at the start point [0., 0., 0.]"


def test_a_bad_value_is_refused_before_the_gradient():
    with pytest.raises(UserCodeError) as e:
        check([np.inf, 0.0], f=np.nan)
    assert e.value.message.startswith("objective 'f' is nan at the start point [0., 0.]; choose bounds")
