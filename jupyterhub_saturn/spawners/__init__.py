"""Spawner adapters: the shared profile mixin, ``saturn-local`` and ``saturn-kube``."""
