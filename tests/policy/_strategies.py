"""Shared hypothesis strategies and settings for the policy tests."""

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from ..property_budget import examples

# No per-example deadline: the suite must pass on a loaded 2-core machine. No example
# database: nothing is written into the shared work tree.
SETTINGS = settings(
    deadline=None, max_examples=examples(60), database=None, suppress_health_check=[HealthCheck.too_slow]
)

json_scalars = st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
duration_like = st.sampled_from(
    ["10m", "15m", "30m", "1h", "2h", "6h", "24h", "1d", "90s", "never", "NEVER", "", " ", "1x", "0s", "-1h"]
) | st.integers(-100, 10**6) | json_values
