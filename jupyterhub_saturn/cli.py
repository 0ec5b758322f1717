"""``jupyterhub-saturn``: the command line.

``jupyterhub-saturn publish lecture1.ipynb`` publishes a notebook from inside a single-user
server, with the server's own API token (``JUPYTERHUB_API_TOKEN``/``JUPYTERHUB_API_URL``
are set there by JupyterHub), or from anywhere with ``--hub-url`` and ``--token``.
Publishing again republishes (same id and URL) the caller's notebook with the same title (or
the one named by ``--id``); ``--new`` publishes a separate copy. ``--tag`` (repeatable) tags it. ``unpublish ID`` removes one;
``list`` shows what is published. Links are printed with the hub's public address
(``$JUPYTERHUB_PUBLIC_HUB_URL``, set by JupyterHub when ``c.JupyterHub.public_url`` is, or
``--public-url``), never the hub's internal API address.
``identity show|unbind|bind NAME`` (on the hub host) re-binds a username to a provider account.
``profiles convert FILE`` prints the ``c.Saturn`` equivalent of a KubeSpawner ``profile_list`` (from a
``jupyterhub_config.py``, z2jh values with ``singleuser.profileList``, or a JSON/YAML list).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ENV_KINDS = ("image", "size", "gpu", "disk")


class CLIError(Exception):
    """A problem to print (without a traceback) and exit 1 on."""


def _api_url(args) -> str:
    url = args.hub_url or os.environ.get("JUPYTERHUB_API_URL")
    if not url:
        raise CLIError("no hub to talk to: run inside a JupyterHub server, or pass --hub-url http://hub/hub/api")
    url = url.rstrip("/")
    if not url.endswith("/hub/api") and not url.endswith("/api"):
        url += "/hub/api"
    return url


def _token(args) -> str:
    token = args.token or os.environ.get("JUPYTERHUB_API_TOKEN")
    if not token:
        raise CLIError("no API token: run inside a JupyterHub server, or pass --token (or set JUPYTERHUB_API_TOKEN)")
    return token


def _call(args, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(_api_url(args) + path, data=data, method=method, headers={
        "Authorization": f"token {_token(args)}", "Content-Type": "application/json", "Accept": "application/json",
    })
    try:
        with urllib.request.urlopen(req, timeout=args.timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            message = json.loads(raw).get("message") or raw.decode(errors="replace")
        except (ValueError, AttributeError):
            message = raw.decode(errors="replace")[:500]
        raise CLIError(f"the hub refused ({e.code}): {message}") from None
    except urllib.error.URLError as e:
        raise CLIError(f"cannot reach the hub at {_api_url(args)}: {e.reason}") from None


def _publish(args) -> int:
    path = Path(args.notebook)
    if not path.is_file():
        raise CLIError(f"{path}: no such file")
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise CLIError(f"{path} is not a notebook (not JSON: {e})") from None
    body: dict = {"notebook": notebook, "filename": path.name}
    if args.title:
        body["title"] = args.title
    if args.description:
        body["description"] = args.description
    if args.tag is not None:
        body["tags"] = [t for item in args.tag for t in item.split(",") if t.strip()]
    env = {k: getattr(args, k) for k in ENV_KINDS if getattr(args, k)}
    if env:
        body["environment"] = env
    target = args.id or (None if args.new else _same_title(args, notebook, path.name))
    if target:
        _, record = _call(args, "PUT", f"/saturn/notebooks/{target}", body)
        print(f"Republished {record['title']!r} ({record['id']})")
    else:
        _, record = _call(args, "POST", "/saturn/notebooks", body)
        print(f"Published {record['title']!r} as {record['id']}")
    base, note = _public_base(args)
    print(f"  page: {base}{record['url']}")
    print(f"  run:  {base}{record['run_url']}")
    if note:
        print(note)
    return 0


def _same_title(args, notebook: dict, filename: str) -> str | None:
    """The id of the caller's published notebook with the title this one would get, if exactly one."""
    from .gallery.notebook import derive_title  # noqa: PLC0415 - pure core, no hub imports

    try:
        title = derive_title(notebook, title=args.title, filename=filename)
    except Exception:  # noqa: BLE001 - the hub reports a bad title with its field name
        return None
    _, me = _call(args, "GET", "/user")
    _, records = _call(args, "GET", "/saturn/notebooks")
    mine = [r["id"] for r in records or [] if r.get("author") == (me or {}).get("name") and r.get("title") == title]
    if len(mine) > 1:
        raise CLIError(f"you have {len(mine)} notebooks titled {title!r} ({', '.join(mine)}): pass --id to pick one, "
                       "or --new for another copy")
    return mine[0] if mine else None


def _public_base(args) -> tuple[str, str]:
    """(origin to put before hub paths, a note when only paths can be shown)."""
    public = (args.public_url or os.environ.get("JUPYTERHUB_PUBLIC_HUB_URL")
              or os.environ.get("JUPYTERHUB_PUBLIC_URL", ""))
    if public:
        parts = urllib.parse.urlsplit(public)
        if parts.scheme in ("http", "https") and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}", ""
    if args.hub_url:
        return _api_url(args)[: -len("/hub/api")] if _api_url(args).endswith("/hub/api") else "", ""
    return "", ("  (paths on your hub's address; an admin can set c.JupyterHub.public_url to print full links)")


def _unpublish(args) -> int:
    _call(args, "DELETE", f"/saturn/notebooks/{args.id}")
    print(f"Unpublished {args.id}")
    return 0


def _list(args) -> int:
    _, records = _call(args, "GET", "/saturn/notebooks")
    for r in records:
        print(f"{r['id']}\t{r['author']}\t{r['updated'][:16]}\t{r['title']}")
    return 0


def _identity(args) -> int:
    from .identities import IdentityBindings  # noqa: PLC0415 - only this command needs it
    from .usernames import normalize_username  # noqa: PLC0415

    bindings = IdentityBindings(args.file)
    name = normalize_username(args.username)
    try:
        if args.action == "show":
            binding = bindings.get(name)
            print(f"{name}\t{binding.issuer}\t{binding.subject}" if binding else f"{name} is not bound")
        elif args.action == "unbind":
            done = bindings.unbind(name)
            print(f"Unbound {name}: the next sign-in as {name} binds it" if done else f"{name} was not bound")
        else:
            if not (args.issuer and args.subject):
                raise CLIError("bind needs the issuer and the subject: identity bind NAME ISSUER SUB")
            bindings.bind(name, args.issuer.rstrip("/"), args.subject)
            print(f"Bound {name} to {args.issuer} {args.subject}")
    except (OSError, ValueError) as e:
        raise CLIError(f"{args.file}: {e}") from None
    return 0


def _load_profile_list(path: Path):
    """The profile_list in a jupyterhub_config.py, z2jh values (singleuser.profileList) or a JSON/YAML list."""
    text = path.read_text()
    if path.suffix == ".py":
        from traitlets.config import Config  # noqa: PLC0415

        c = Config()
        exec(compile(text, str(path), "exec"), {"get_config": lambda: c, "c": c, "__file__": str(path)})  # noqa: S102
        for section in ("SaturnKubeSpawner", "KubeSpawner"):
            if "profile_list" in c[section]:
                return c[section]["profile_list"]
        raise CLIError(f"{path}: sets no c.KubeSpawner.profile_list")
    if path.suffix == ".json":
        data = json.loads(text)
    else:
        import yaml  # noqa: PLC0415

        data = yaml.safe_load(text)
    if isinstance(data, dict):
        data = (data.get("singleuser") or {}).get("profileList", data.get("profile_list"))
    if data is None:
        raise CLIError(f"{path}: no profile list (singleuser.profileList or a list)")
    return data


def _profiles(args) -> int:
    from .errors import ConfigError  # noqa: PLC0415
    from .profiles.convert import convert_profile_list, render_saturn_config  # noqa: PLC0415

    try:
        catalog, notes = convert_profile_list(_load_profile_list(Path(args.file)))
    except OSError as e:
        raise CLIError(f"{args.file}: {e}") from None
    except ConfigError as e:
        raise CLIError(e.text) from None
    print(render_saturn_config(catalog, notes), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jupyterhub-saturn", description=__doc__.splitlines()[0])
    parser.add_argument("--hub-url", help="the hub's URL (default: $JUPYTERHUB_API_URL)")
    parser.add_argument("--token", help="an API token (default: $JUPYTERHUB_API_TOKEN)")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--public-url", help="the hub's public address for printed links (default: $JUPYTERHUB_PUBLIC_URL)")
    sub = parser.add_subparsers(dest="command", required=True)
    pub = sub.add_parser("publish", help="publish (or with --id, republish) a notebook")
    pub.add_argument("notebook")
    pub.add_argument("--id", help="republish over this published notebook (same URL)")
    pub.add_argument("--new", action="store_true", help="publish a new copy even if one with this title exists")
    pub.add_argument("--title")
    pub.add_argument("--description")
    pub.add_argument("--tag", action="append", metavar="TAG",
                     help="a tag (repeat, or comma-separate: --tag physics --tag week-3); republishing without "
                          "--tag keeps the tags, --tag '' removes them")
    for kind in ENV_KINDS:
        pub.add_argument(f"--{kind}", help=f"the {kind} the notebook runs with")
    pub.set_defaults(func=_publish)
    unp = sub.add_parser("unpublish", help="remove a published notebook")
    unp.add_argument("id")
    unp.set_defaults(func=_unpublish)
    lst = sub.add_parser("list", help="list published notebooks")
    lst.set_defaults(func=_list)
    ident = sub.add_parser("identity", help="show or change which provider account owns a hub username (on the hub host)")
    ident.add_argument("action", choices=["show", "unbind", "bind"])
    ident.add_argument("username")
    ident.add_argument("issuer", nargs="?", help="bind: the provider's issuer, e.g. https://sso.example.edu")
    ident.add_argument("subject", nargs="?", help="bind: the account's subject (sub) at the provider")
    ident.add_argument("--file", default="saturn-identities.json",
                       help="the hub's identity file (default: ./saturn-identities.json, run in the hub's directory)")
    ident.set_defaults(func=_identity)
    prof = sub.add_parser("profiles", help="migration help for KubeSpawner profiles")
    prof.add_argument("action", choices=["convert"], help="convert: print the c.Saturn equivalent of a profile_list")
    prof.add_argument("file", help="jupyterhub_config.py, z2jh values YAML (singleuser.profileList), or a JSON/YAML list")
    prof.set_defaults(func=_profiles)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CLIError as e:
        print(f"jupyterhub-saturn: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
