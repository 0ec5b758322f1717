"""What a copy runs on, and when a running server of another environment is offered a restart."""

from __future__ import annotations

import pytest

from jupyterhub_saturn.errors import InvalidChoice
from jupyterhub_saturn.policy.copy_options import (
    CHOICES, NOTEBOOK_KEY, copy_options, environment_offer, parse_choice, restart_options,
)
from jupyterhub_saturn.profiles import parse_catalog

CAT = parse_catalog(
    sizes={"small": {"cpu": 1, "memory": "2G"}, "medium": {"cpu": 2, "memory": "8G"},
           "large": {"cpu": 8, "memory": "32G", "groups": ["staff"]}},
    gpus={"t4": {"count": 1, "groups": ["gpu-users"]}},
    images={"python": {"display_name": "Python 3"}, "ds": {"display_name": "Data science"},
            "secret": {"groups": ["staff"]}},
)


def test_copy_options_take_the_notebooks_environment_within_entitlements():
    env = {"image": "ds", "size": "large", "gpu": "t4"}
    assert copy_options(CAT, env, [], throwaway=False) == {"size": "small", "gpu": "none", "disk": "10Gi",
                                                           "image": "ds"}
    assert copy_options(CAT, env, ["staff", "gpu-users"], throwaway=False)["size"] == "large"
    assert copy_options(CAT, None, [], throwaway=False)["image"] == "python"
    # a throwaway copy: no GPU, at most the anonymous size
    thrown = copy_options(CAT, env, ["staff", "gpu-users"], throwaway=True, anonymous_size="medium")
    assert thrown["gpu"] == "none" and thrown["size"] == "medium"
    assert copy_options(CAT, {"size": "medium"}, [], throwaway=True)["size"] == "small"  # the default caps


def test_an_offer_only_for_another_environment_the_user_may_use():
    offer = environment_offer(CAT, {"image": "python", "size": "medium"}, {"image": "ds"}, [])
    assert (offer.running, offer.wanted, offer.running_name, offer.wanted_name) == (
        "python", "ds", "Python 3", "Data science")
    assert "Python 3" in offer.message() and "Data science" in offer.message()
    assert offer.to_json()["wanted_name"] == "Data science"
    assert environment_offer(CAT, {"image": "ds"}, {"image": "ds"}, []) is None  # the same environment
    assert environment_offer(CAT, {"image": "python"}, {}, []) is None  # the notebook names none
    assert environment_offer(CAT, {"image": "python"}, {"image": "secret"}, []) is None  # not the user's to use
    assert environment_offer(CAT, {"image": "python"}, {"image": "gone"}, []) is None  # no longer offered
    assert environment_offer(CAT, {"image": "python"}, {"image": "secret"}, ["staff"]).wanted == "secret"
    # a server with no recorded environment runs the user's default
    assert environment_offer(CAT, {}, {"image": "ds"}, []).running == "python"
    assert environment_offer(CAT, None, {"image": "python"}, []) is None
    # hostile stored values do not break it
    assert environment_offer(CAT, {"image": ["x"]}, {"image": {"a": 1}}, []) is None


def test_restart_keeps_every_other_choice_and_drops_recomputed_state():
    running = {"size": "medium", "gpu": "t4", "disk": "10Gi", "image": "python", "auto_shutoff": "6h",
               "saturn_shutoff": {"idle_timeout": 21600}, NOTEBOOK_KEY: "older", "course": "phys101"}
    assert restart_options(running, "ds", "lecture-1") == {
        "size": "medium", "gpu": "t4", "disk": "10Gi", "image": "ds", "auto_shutoff": "6h", "course": "phys101",
        NOTEBOOK_KEY: "lecture-1"}
    assert restart_options(None, "ds", "x") == {"image": "ds", NOTEBOOK_KEY: "x"}
    assert running["image"] == "python"  # not changed in place


@pytest.mark.parametrize("bad", ["", "RESTART", "stop", None, ["restart"], "x" * 500, "restart\x00"])
def test_choice_is_one_of_two_answers(bad):
    assert [parse_choice(c) for c in CHOICES] == ["restart", "keep"]
    with pytest.raises(InvalidChoice) as e:
        parse_choice(bad)
    assert e.value.field == "choice" and e.value.allowed == ["restart", "keep"] and e.value.status == 400
    assert len(e.value.text) < 200
