"""The lifetime sentence a visitor reads before Run this copy comes from the throwaway caps."""

from __future__ import annotations

from jupyterhub_saturn.policy.lifetime import human_duration, throwaway_lifetime, throwaway_limits
from jupyterhub_saturn.policy.shutoff import ShutoffPolicy


def test_human_duration():
    assert human_duration(600) == "10 minutes" and human_duration(3600) == "1 hour"
    assert human_duration(5400) == "1 hour 30 minutes" and human_duration(90061) == "1 day 1 hour"
    assert human_duration(1) == "1 second" and human_duration(0) == "0 seconds"


def test_defaults_and_configured_caps():
    config = ShutoffPolicy.from_config({}).config
    assert throwaway_limits(config) == (600, 3600)
    assert throwaway_lifetime(config) == ("It stops after 10 minutes without activity and at most 1 hour after it "
                                          "starts.")
    config = ShutoffPolicy.from_config({"throwaway": {"max_idle": "30m", "max_age": "2h"}}).config
    assert throwaway_lifetime(config) == ("It stops after 30 minutes without activity and at most 2 hours after it "
                                          "starts.")
