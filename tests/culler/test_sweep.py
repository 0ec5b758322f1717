"""culler/sweep.py helpers that need no hub."""

from __future__ import annotations

import pytest

from jupyterhub_saturn.culler.sweep import proxied_url


@pytest.mark.parametrize("server_url, url, headers", [
    ("/user/anon~1f2e/api/kernels", "http://127.0.0.1:8000/user/anon~1f2e/api/kernels", None),
    # subdomain_host: the hub reports the server's absolute URL; the proxy routes by Host
    ("http://anon--7e1f2e.hub.localhost:8000/user/anon~1f2e/lab2/api/kernels",
     "http://127.0.0.1:8000/user/anon~1f2e/lab2/api/kernels", {"Host": "anon--7e1f2e.hub.localhost:8000"}),
    ("https://ann.hub.example.org/user/ann/api/kernels?x=1", "http://127.0.0.1:8000/user/ann/api/kernels?x=1",
     {"Host": "ann.hub.example.org"}),
])
def test_server_urls_go_to_the_proxy_with_their_host(server_url, url, headers):
    assert proxied_url("http://127.0.0.1:8000", server_url) == (url, headers)
