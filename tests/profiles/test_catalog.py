import pytest

from jupyterhub_saturn.errors import ConfigError
from jupyterhub_saturn.profiles import NO_GPU, parse_catalog

SIZES = {"small": {"cpu": 1, "memory": "2G"}, "large": {"cpu": 8, "memory": "32G", "groups": ["staff"]}}


def test_defaults_when_nothing_is_configured():
    cat = parse_catalog()
    assert list(cat.sizes) == ["small"] and list(cat.disks) == ["10Gi"] and list(cat.gpus) == [NO_GPU]
    assert cat.defaults == {"size": "small", "gpu": "none", "disk": "10Gi", "image": "default"}


def test_full_catalog_parses():
    cat = parse_catalog(
        sizes=SIZES,
        gpus={"t4": {"display_name": "1 × T4", "count": 1, "node_selector": {"gpu": "t4"},
                     "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                     "shm": "1Gi", "groups": ["gpu-users"]}},
        disks=["10Gi", "50Gi"],
        images={"ds": {"image": "quay.io/x", "prefix": "/opt/ds", "env": {"A": "b"}}},
        defaults={"disk": "50Gi"},
    )
    assert cat.sizes["large"].memory == 32 * 10**9 and cat.sizes["large"].groups == frozenset({"staff"})
    assert cat.gpus["t4"].shm == 2**30 and cat.gpus["t4"].tolerations[0]["key"] == "nvidia.com/gpu"
    assert cat.disks["50Gi"].bytes == 50 * 2**30
    assert cat.defaults["disk"] == "50Gi" and cat.defaults["size"] == "small"
    assert cat.groups_named() == {"staff", "gpu-users"}


@pytest.mark.parametrize("kwargs, path", [
    ({"sizes": {"small": {"cpu": 1, "memory": "2G", "mem": 3}}}, "Saturn.sizes.small.mem"),
    ({"sizes": {"small": {"cpu": 1, "memory": "lots"}}}, "Saturn.sizes.small.memory"),
    ({"sizes": {"small": {"cpu": 1}}}, "Saturn.sizes.small.memory"),
    ({"sizes": {}}, "Saturn.sizes"),
    ({"sizes": ["small"]}, "Saturn.sizes"),
    ({"sizes": {"bad key!": {"cpu": 1, "memory": "1G"}}}, "Saturn.sizes.bad key!"),
    ({"sizes": {"small": {"cpu": 1, "memory": "1G", "groups": []}}}, "Saturn.sizes.small.groups"),
    ({"sizes": {"small": {"cpu": 1, "memory": "1G", "groups": "staff"}}}, "Saturn.sizes.small.groups"),
    ({"sizes": {"small": {"cpu": 1, "memory": "1G", "groups": [""]}}}, "Saturn.sizes.small.groups"),
    ({"gpus": {"none": {}}}, "Saturn.gpus.none"),
    ({"gpus": {"t4": {"count": 0}}}, "Saturn.gpus.t4.count"),
    ({"gpus": {"t4": {"count": "1"}}}, "Saturn.gpus.t4.count"),
    ({"gpus": {"t4": {"nodeSelector": {"a": "b"}}}}, "Saturn.gpus.t4.nodeSelector"),
    ({"gpus": {"t4": {"tolerations": [{"key": "a", "colour": "x"}]}}}, "Saturn.gpus.t4.tolerations[0].colour"),
    ({"gpus": {"t4": {"tolerations": {"key": "a"}}}}, "Saturn.gpus.t4.tolerations"),
    ({"disks": ["10 apples"]}, "Saturn.disks.10 apples"),
    ({"disks": [10]}, "Saturn.disks[0]"),
    ({"images": {"x": {"env": {"A": 1}}}}, "Saturn.images.x.env"),
    ({"images": {"x": {"prefix": 3}}}, "Saturn.images.x.prefix"),
    ({"defaults": {"size": "huge"}}, "Saturn.defaults.size"),
    ({"defaults": {"colour": "red"}}, "Saturn.defaults.colour"),
    ({"defaults": {"gpu": "t4"}}, "Saturn.defaults.gpu"),
])
def test_config_mistakes_name_the_key_path(kwargs, path):
    with pytest.raises(ConfigError) as e:
        parse_catalog(**kwargs)
    assert e.value.field == path, e.value.text
    assert e.value.text.startswith(path)


def test_unknown_default_lists_the_choices():
    with pytest.raises(ConfigError) as e:
        parse_catalog(sizes=SIZES, defaults={"size": "huge"})
    assert e.value.allowed == ["small", "large"]
    assert "'small'" in e.value.text and "'large'" in e.value.text
