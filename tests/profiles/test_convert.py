"""profile_list → c.Saturn: the converter (pure) and ``jupyterhub-saturn profiles convert`` on real files."""

from __future__ import annotations

import pytest
from traitlets.config import Config

from jupyterhub_saturn.cli import main
from jupyterhub_saturn.errors import ConfigError
from jupyterhub_saturn.profiles.convert import convert_profile_list
from jupyterhub_saturn.settings import Saturn

GPU_TOL = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
PROFILES = [
    {"display_name": "Small", "description": "1 CPU", "default": True,
     "kubespawner_override": {"cpu_limit": 1, "mem_limit": "2G", "image": "quay.io/jupyter/scipy-notebook:2025"}},
    {"display_name": "GPU", "allowed_groups": ["gpu-users"],
     "kubespawner_override": {"cpu_limit": 4, "mem_limit": "16G", "image": "quay.io/jupyter/pytorch-notebook:cuda",
                              "extra_resource_limits": {"nvidia.com/gpu": "1"},
                              "node_selector": {"gpu": "t4"}, "tolerations": [GPU_TOL],
                              "lifecycle_hooks": {"postStart": {}}}},
]


def test_profiles_become_sizes_gpus_images_that_saturn_accepts():
    catalog, notes = convert_profile_list(PROFILES)
    assert catalog["sizes"]["small"] == {"display_name": "Small", "cpu": 1, "memory": "2G", "description": "1 CPU"}
    assert catalog["sizes"]["gpu"]["groups"] == ["gpu-users"]
    assert catalog["gpus"]["gpu-gpu"] == {"display_name": "1 x GPU (GPU)", "count": 1, "resource": "nvidia.com/gpu",
                                          "node_selector": {"gpu": "t4"}, "tolerations": [GPU_TOL],
                                          "groups": ["gpu-users"]}
    assert [i["image"] for i in catalog["images"].values()] == [
        "quay.io/jupyter/scipy-notebook:2025", "quay.io/jupyter/pytorch-notebook:cuda"]
    assert catalog["defaults"] == {"size": "small"}
    assert any("lifecycle_hooks has no c.Saturn equivalent" in n for n in notes)  # nothing dropped silently
    c = Config()
    for k, v in catalog.items():
        c.Saturn[k] = v
    Saturn(config=c).validate()  # the output is a valid catalog


@pytest.mark.parametrize("bad", [lambda spawner: [], {"a": 1}, ["x"]])
def test_unconvertible_input_names_the_setting(bad):
    with pytest.raises(ConfigError) as e:
        convert_profile_list(bad)
    assert e.value.field.startswith("KubeSpawner.profile_list")


def test_cli_converts_a_config_file_and_z2jh_values(tmp_path, capsys):
    conf = tmp_path / "jupyterhub_config.py"
    conf.write_text(f"c = get_config()\nc.KubeSpawner.profile_list = {PROFILES!r}\n")
    assert main(["profiles", "convert", str(conf)]) == 0
    out = capsys.readouterr().out
    assert "c.Saturn.sizes = " in out and "# NOTE:" in out and "remove c.KubeSpawner.profile_list" in out
    c = Config()
    exec(out, {"c": c})  # noqa: S102 - what the admin pastes into their config
    Saturn(config=c).validate()
    values = tmp_path / "values.yaml"
    values.write_text("singleuser:\n  profileList:\n    - display_name: Tiny\n      kubespawner_override: "
                      "{cpu_limit: 0.5, mem_limit: 1G}\n")
    assert main(["profiles", "convert", str(values)]) == 0
    assert "'tiny': {'display_name': 'Tiny', 'cpu': 0.5, 'memory': '1G'}" in capsys.readouterr().out
    empty = tmp_path / "none.py"
    empty.write_text("c = get_config()\n")
    assert main(["profiles", "convert", str(empty)]) == 1
    assert "sets no c.KubeSpawner.profile_list" in capsys.readouterr().err
