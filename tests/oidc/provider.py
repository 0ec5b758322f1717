"""Run the real OpenID Connect provider (npm ``oidc-provider``, pinned in package.json) on loopback.

``OIDCProvider(workdir)`` picks a free port (so its issuer ``http://127.0.0.1:<port>`` is known
before the hub's config is written), registers confidential clients, keeps every user's claims
in a JSON file the test may rewrite at any time, and starts ``node provider.mjs``. The Node
dependencies are installed with ``npm ci`` into ``tests/oidc/node_modules`` on first use; a
missing ``npm`` fails the test with instructions rather than skipping it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import urljoin, urlparse

import requests

from ..harness import Gone, wait_for
from ..ports import free_port
from ..processes import describe

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "provider.mjs"
MODULE = HERE / "node_modules" / "oidc-provider" / "package.json"


def ensure_node_modules() -> None:
    """``npm ci`` the pinned provider into tests/oidc/node_modules unless it is already there."""
    if MODULE.exists():
        return
    npm = shutil.which("npm")
    node = shutil.which("node")
    if not npm or not node:
        raise RuntimeError(
            "the OIDC login tests need Node.js >= 20 and npm on PATH to install the test provider "
            "(npm ci --prefix tests/oidc); install them and re-run"
        )
    with open(Path(tempfile.gettempdir()) / "saturn-oidc-npm-ci.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if MODULE.exists():
            return
        p = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(HERE)],
            capture_output=True, text=True, timeout=600,
        )
        if p.returncode != 0 or not MODULE.exists():
            raise RuntimeError(f"npm ci --prefix {HERE} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")


class ProviderStalled(UserWarning):
    """A provider process did not answer in time and was started once more (see ``OIDCProvider.start``)."""


class OIDCProvider:
    """One ``oidc-provider`` process for a test; ``issuer`` is known before ``start()``."""

    def __init__(self, workdir: Path, *, access_token_ttl: int = 3600, claims_in_id_token: bool = False):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.claims_file = self.dir / "claims.json"
        self.settings_file = self.dir / "provider.json"
        self.log_file = self.dir / "provider.log"
        self.access_token_ttl = access_token_ttl
        self.claims_in_id_token = claims_in_id_token
        self.clients: list[dict] = []
        self.proc: subprocess.Popen | None = None
        self._claims: dict[str, dict] = {}
        self._write_claims()

    # ------------------------------------------------------------ accounts and clients

    def set_claims(self, sub: str, **claims) -> None:
        """Set (replace) the claims of account ``sub``; the provider reads them on its next request."""
        self._claims[sub] = claims
        self._write_claims()

    def _write_claims(self) -> None:
        tmp = self.claims_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._claims))
        os.replace(tmp, self.claims_file)

    def add_client(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        """Register a confidential client (must be done before ``start()``)."""
        self.clients.append({"client_id": client_id, "client_secret": client_secret, "redirect_uris": [redirect_uri]})

    # ------------------------------------------------------------ process

    def start(self, timeout: float = 60, stall: float = 20) -> "OIDCProvider":
        """Start the provider and wait until it serves its discovery document.

        It normally answers within a second. A start still silent after ``stall`` s is described (its process
        state, its log) in a warning, killed and made once more, with ``timeout`` s for the second try: CI once
        saw a provider stay silent for a minute without reaching its own start-up steps, which would otherwise
        fail whichever login test it was for."""
        ensure_node_modules()
        self.settings_file.write_text(json.dumps({
            "port": self.port, "issuer": self.issuer, "clients": self.clients,
            "claims_file": str(self.claims_file), "access_token_ttl": self.access_token_ttl,
            "conform_id_token_claims": not self.claims_in_id_token,
        }))
        try:
            self._launch(stall)
        except TimeoutError as e:
            warnings.warn(f"{e}; started it once more", ProviderStalled, stacklevel=2)
            try:
                self._launch(timeout)
            except TimeoutError as again:
                raise RuntimeError(f"oidc-provider did not start, twice: {again}") from None
        return self

    def command(self) -> list[str]:
        """The provider's command line."""
        return [shutil.which("node") or "node", str(SCRIPT), str(self.settings_file)]

    def _launch(self, timeout: float) -> None:
        """One provider process; ``TimeoutError`` (after stopping it) when it does not answer in ``timeout`` s."""
        self._log = open(self.log_file, "ab")
        self.proc = subprocess.Popen(
            self.command(), cwd=HERE, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

        def ready():
            if self.proc.poll() is not None:
                raise Gone(f"oidc-provider exited with {self.proc.returncode}:\n{self.log_tail()}")
            r = requests.get(self.issuer + "/.well-known/openid-configuration", timeout=2)
            return r.status_code == 200

        started = time.monotonic()
        try:
            wait_for(ready, timeout=timeout, what=f"oidc-provider at {self.issuer}")
        except TimeoutError as e:
            state = describe(self.proc.pid)
            self.stop()
            raise TimeoutError(
                f"oidc-provider at {self.issuer} did not answer within {time.monotonic() - started:.0f}s "
                f"({e}); {state}; log:\n{self.log_tail()}") from None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        self._log.close()

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"


def provider_login(session: requests.Session, hub_url: str, sub: str, *, next_url: str | None = None,
                   stop_at_callback: bool = False, abort: bool = False) -> requests.Response:
    """Drive the browser flow: hub ``/hub/oauth_login`` -> provider sign-in (devInteractions) -> hub callback.

    Returns the hub's answer to the callback request (not followed), or with ``stop_at_callback``
    the provider's redirect *to* the callback, unfollowed, so a test can tamper with or replay it.
    With ``abort`` the person cancels at the provider's sign-in page instead of signing in.
    """
    params = {"next": next_url} if next_url else None
    r = session.get(hub_url + "/hub/oauth_login", params=params, allow_redirects=False, timeout=30)
    if r.status_code != 302:
        return r
    for _ in range(10):
        location = urljoin(r.url, r.headers["Location"])
        if location.startswith(hub_url + "/hub/oauth_callback"):
            if stop_at_callback:
                return r
            return session.get(location, allow_redirects=False, timeout=60)
        r = session.get(location, allow_redirects=False, timeout=30)
        if r.status_code == 200 and "/interaction/" in urlparse(r.url).path:
            uid = urlparse(r.url).path.rstrip("/").split("/")[-1]
            assert re.fullmatch(r"[A-Za-z0-9_-]+", uid), r.url
            if abort:
                r = session.get(urljoin(r.url, f"/interaction/{uid}/abort"), allow_redirects=False, timeout=30)
            else:
                r = session.post(
                    urljoin(r.url, f"/interaction/{uid}"),
                    data={"prompt": "login", "login": sub, "password": "x"},
                    allow_redirects=False, timeout=30,
                )
        if r.status_code not in (302, 303):
            raise AssertionError(f"unexpected answer from {r.url}: {r.status_code} {r.text[:800]}")
    raise AssertionError("too many redirects in the sign-in flow")


def callback_location(r: requests.Response) -> str:
    """The absolute callback URL the provider redirected to."""
    return urljoin(r.url, r.headers["Location"])


def wait_gone(url: str, timeout: float = 20) -> None:
    """Wait until nothing answers at ``url`` any more."""
    def down():
        try:
            requests.get(url, timeout=1)
        except requests.ConnectionError:
            return True
        return False

    wait_for(down, timeout=timeout, what=f"{url} to stop answering")
