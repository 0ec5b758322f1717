import pytest

from jupyterhub_saturn.errors import ConfigError
from jupyterhub_saturn.profiles.quantities import format_size, kube_quantity, parse_cpu, parse_size


@pytest.mark.parametrize("text, expected", [
    ("2G", 2 * 10**9), ("512M", 512 * 10**6), ("8Gi", 8 * 2**30), ("1.5T", 15 * 10**11),
    ("10GB", 10 * 10**9), (1024, 1024), ("64Ki", 64 * 1024),
])
def test_parse_size(text, expected):
    assert parse_size(text, "x") == expected


@pytest.mark.parametrize("bad", ["", "2X", "-1G", "G", "2 G B", 0, -5, True, None, 1.5, [], "0G"])
def test_parse_size_rejects_with_key_path(bad):
    with pytest.raises(ConfigError) as e:
        parse_size(bad, "Saturn.sizes.small.memory")
    assert e.value.field == "Saturn.sizes.small.memory"
    assert "Saturn.sizes.small.memory" in str(e.value)


@pytest.mark.parametrize("text, expected", [(1, 1.0), (0.5, 0.5), ("500m", 0.5), ("2", 2.0)])
def test_parse_cpu(text, expected):
    assert parse_cpu(text, "x") == expected


@pytest.mark.parametrize("bad", [0, -1, "abc", "", True, None, float("nan"), "1.5q"])
def test_parse_cpu_rejects(bad):
    with pytest.raises(ConfigError):
        parse_cpu(bad, "Saturn.sizes.small.cpu")


def test_formats():
    assert format_size(10 * 2**30) == "10Gi"
    assert format_size(2 * 10**9) == "2G"
    assert kube_quantity(50 * 2**30) == "50Gi"
    assert kube_quantity(2 * 10**9) == "2G"
    assert kube_quantity(1234567) == "1234567"
