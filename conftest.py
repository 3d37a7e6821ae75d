"""The docstrings' Examples (``pytest --doctest-modules``, collected from ``jaxrnn/``) run
as users run them: float32 by default and JAX's default rank promotion, whatever the test
suite's own settings (``tests/conftest.py``)."""

import jax
import pytest


@pytest.fixture(autouse=True)
def _user_defaults_for_doctests(request):
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    saved = jax.config.jax_enable_x64, jax.config.jax_numpy_rank_promotion
    jax.config.update('jax_enable_x64', False)
    jax.config.update('jax_numpy_rank_promotion', 'allow')
    yield
    jax.config.update('jax_enable_x64', saved[0])
    jax.config.update('jax_numpy_rank_promotion', saved[1])


def pytest_addoption(parser):
    parser.addoption(
        '--screenshots',
        default=None,
        metavar='DIR',
        help="also save the browser tests' screenshots of the HTML report into DIR (the "
        "README's docs/screenshots/report-*.png are made so)",
    )
