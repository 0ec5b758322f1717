"""Authenticators: the hub integration mixin, saturn-* wrappers of JupyterHub's built-in
authenticators, and OAuth classes with claims → groups → roles."""
