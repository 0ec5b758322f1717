"""The product's roles (student, instructor, admin) from hub groups, as JupyterHub roles. Pure Python.

Input is plain config data (YAML-able)::

    {"student":    {"groups": ["students"]},
     "instructor": {"groups": ["instructors"],                     # may publish
                    "courses": {"cs101": ["cs101-instructors"]}},  # course group -> its instructors
     "admin":      {"groups": ["hub-admins"]}}

:func:`saturn_roles` turns it into ``load_roles`` (JupyterHub roles assigned to those groups),
the ``custom_scopes`` they use (``custom:saturn:publish``), ``admin_groups`` for the
authenticator and ``allowed_groups`` (every group named). The instructors of course ``C`` may
list, read, start, stop and open the servers of members of hub group ``C`` (scopes filtered
with ``!group=C``) and use the admin page for them; so put a course's students in group ``C``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigError
from .claims import GROUP_NAME

PUBLISH_SCOPE = "custom:saturn:publish"
CUSTOM_SCOPES = {
    PUBLISH_SCOPE: {"description": "Publish notebooks to the jupyterhub-saturn gallery and manage one's published notebooks."},
}
ROLE_KEYS = ("student", "instructor", "admin")
COURSE_SCOPES = ("list:users", "read:users", "read:groups", "admin:servers", "access:servers")


def _groups(value, path: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise ConfigError(path, f"expected a list of hub group names, got {value!r}")
    out = []
    for i, name in enumerate(sorted(value) if isinstance(value, (set, frozenset)) else value):
        if not isinstance(name, str) or not GROUP_NAME.match(name):
            raise ConfigError(f"{path}[{i}]", f"{name!r} is not a valid group name (letters, digits and ._:@- only)")
        if name not in out:
            out.append(name)
    return out


def _section(spec: Mapping, key: str, allowed: tuple[str, ...], path: str) -> Mapping:
    section = spec.get(key) or {}
    if not isinstance(section, Mapping):
        raise ConfigError(f"{path}.{key}", f"expected a mapping, got {section!r}")
    unknown = sorted(set(section) - set(allowed))
    if unknown:
        raise ConfigError(f"{path}.{key}.{unknown[0]}", "unknown key", allowed=allowed)
    return section


def saturn_roles(spec: Mapping | None, *, path: str = "saturn_roles") -> dict:
    """``{"load_roles", "custom_scopes", "admin_groups", "allowed_groups"}`` for the role spec.

    Raises :class:`~jupyterhub_saturn.errors.ConfigError` naming the key path (under ``path``).
    """
    spec = spec or {}
    if not isinstance(spec, Mapping):
        raise ConfigError(path, f"expected a mapping, got {spec!r}")
    unknown = sorted(set(spec) - set(ROLE_KEYS))
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}", "unknown role", allowed=ROLE_KEYS)
    student = _section(spec, "student", ("groups",), path)
    instructor = _section(spec, "instructor", ("groups", "courses"), path)
    admin = _section(spec, "admin", ("groups",), path)

    student_groups = _groups(student.get("groups"), f"{path}.student.groups")
    instructor_groups = _groups(instructor.get("groups"), f"{path}.instructor.groups")
    admin_groups = _groups(admin.get("groups"), f"{path}.admin.groups")
    courses = instructor.get("courses") or {}
    if not isinstance(courses, Mapping):
        raise ConfigError(f"{path}.instructor.courses", f"expected a mapping of course group -> instructor groups, got {courses!r}")

    roles: list[dict] = []
    if student_groups:
        roles.append({
            "name": "saturn-student", "description": "jupyterhub-saturn student: uses their own servers",
            "scopes": ["self"], "groups": student_groups,
        })
    if instructor_groups:
        roles.append({
            "name": "saturn-instructor", "description": "jupyterhub-saturn instructor: may publish notebooks",
            "scopes": ["self", PUBLISH_SCOPE], "groups": instructor_groups,
        })
    course_instructors: list[str] = []
    for course, groups in courses.items():
        where = f"{path}.instructor.courses.{course}"
        if not isinstance(course, str) or not GROUP_NAME.match(course):
            raise ConfigError(where, f"{course!r} is not a valid group name for a course")
        members = _groups(groups, where)
        if not members:
            raise ConfigError(where, "list the hub groups whose members instruct this course")
        course_instructors += [g for g in members if g not in course_instructors]
        roles.append({
            "name": f"saturn-instructor-{course}",
            "description": f"jupyterhub-saturn instructor of {course}: publishes; sees and manages the servers of group {course}",
            "scopes": ["self", PUBLISH_SCOPE, "admin-ui"] + [f"{s}!group={course}" for s in COURSE_SCOPES],
            "groups": members,
        })
    if admin_groups:
        # admin status itself comes from the authenticator's admin_groups; JupyterHub's admin role
        # has no custom scopes, so admins get publishing here.
        roles.append({
            "name": "saturn-admin", "description": "jupyterhub-saturn admin: may publish notebooks",
            "scopes": ["self", PUBLISH_SCOPE], "groups": admin_groups,
        })
    allowed: list[str] = []
    for g in student_groups + instructor_groups + course_instructors + admin_groups:
        if g not in allowed:
            allowed.append(g)
    return {
        "load_roles": roles,
        "custom_scopes": {k: dict(v) for k, v in CUSTOM_SCOPES.items()},
        "admin_groups": admin_groups,
        "allowed_groups": allowed,
    }


def apply_saturn_roles(c, spec: Mapping | None, *, authenticator: str = "OAuthenticator") -> dict:
    """Apply :func:`saturn_roles` to a JupyterHub config object ``c`` and return the result.

    Extends ``c.JupyterHub.load_roles``, merges ``c.JupyterHub.custom_scopes`` and sets
    ``admin_groups`` / ``allowed_groups`` on ``c.<authenticator>`` (adding to values already there).
    """
    result = saturn_roles(spec)
    c.JupyterHub.load_roles.extend(result["load_roles"])
    c.JupyterHub.custom_scopes.update(result["custom_scopes"])
    section = c[authenticator]
    for key in ("admin_groups", "allowed_groups"):
        existing = section.get(key)
        current = set(existing) if isinstance(existing, (list, tuple, set, frozenset)) else set()
        if current or result[key]:
            section[key] = current | set(result[key])
    return result


SHARER_ROLE = "saturn-sharer"


def sharing_roles(policy) -> dict:
    """What ``Saturn.sharing`` (a :class:`~jupyterhub_saturn.policy.sharing.SharingPolicy`) grants.

    ``{"role": <role spec or None>, "user_role_scopes": [...]}``: with sharing off, nothing; with
    ``groups``, a ``saturn-sharer`` role for those groups; without, the scopes go to JupyterHub's
    default ``user`` role (which throwaway users do not hold). Pure: the mount applies it.
    """
    scopes = policy.sharer_scopes()
    if not scopes:
        return {"role": None, "user_role_scopes": []}
    if policy.groups is None:
        return {"role": None, "user_role_scopes": scopes}
    return {"role": {"name": SHARER_ROLE, "description": "jupyterhub-saturn: may share their own servers",
                     "scopes": scopes, "groups": list(policy.groups)},
            "user_role_scopes": []}
