"""Strict JAX settings for the whole suite.

float64 is enabled so the float64 paths can be compared with the NumPy oracle; every
other test passes explicit dtypes, and tests assert result dtypes, so an accidental
promotion to float64 is caught rather than hidden.
"""

import jax
import pytest

jax.config.update('jax_enable_x64', True)
jax.config.update('jax_numpy_rank_promotion', 'raise')


@pytest.fixture
def float32_defaults():
    """Runs a test as users run jaxrnn: without the suite's float64 default."""
    jax.config.update('jax_enable_x64', False)
    yield
    jax.config.update('jax_enable_x64', True)
