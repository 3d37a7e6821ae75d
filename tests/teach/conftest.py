import numpy as np
import pytest

from jaxrnn import kernels
from tests.cases import CASES

T, H = 5, 4
TOKENS = ['i', 'love', 'my', 'friends', '.']


@pytest.fixture(params=['lstm', 'gru'])
def traced(request):
    """A trace of a random LSTM or GRU over one 5-token sequence, with a nonzero
    initial carry: ``(kind, trace [1, t, h], initial)``."""
    case = {c.name: c for c in CASES}[request.param]
    rng = np.random.default_rng(0)
    params = case.params(rng, 3, H, scale=1.2)
    xs = rng.standard_normal((1, T, 3)).astype(np.float32)
    carry = case.carry(rng, (1,), H)
    run = kernels.lstm if request.param == 'lstm' else kernels.gru
    _, _, trace = run(params, xs, carry, trace=True)
    initial = tuple(c[0] for c in carry) if request.param == 'lstm' else carry[0]
    return request.param, trace, initial
