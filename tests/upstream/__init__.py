"""Upstream's own test suites run against the saturn classes, beside a control run of the stock classes.

``python -m tests.upstream`` (see :mod:`tests.upstream.__main__`) runs JupyterHub's ``test_spawner.py``,
``test_api.py`` and ``test_named_servers.py`` (through its ``MockSpawner``), oauthenticator's
``test_generic.py``, ``test_github.py`` and ``test_google.py`` (from the installed wheels) and KubeSpawner's
cluster-free tests (from ``$SATURN_KUBESPAWNER_TESTS``, default ``../shared/upstream-tests``) twice: once as
shipped, once with the saturn class substituted (:mod:`.plugin`, :mod:`.classes`). Every test that passes
stock and fails saturn must be listed with its reason in ``intended.yaml`` (and so in docs/compat.md).
"""
