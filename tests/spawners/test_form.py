import re

from jupyterhub_saturn.profiles import parse_catalog
from jupyterhub_saturn.spawners.form import ExtraField, FormContext, form_to_options, render_form

CAT = parse_catalog(
    sizes={"small": {"cpu": 1, "memory": "2G"}, "large": {"cpu": 8, "memory": "32G", "groups": ["staff"]}},
    gpus={"t4": {"display_name": "1 × T4 <b>", "count": 1, "groups": ["gpu-users"]}},
    disks=["10Gi", "50Gi"],
    images={"base": {"display_name": "Base"}},
)


def test_form_offers_only_entitled_choices():
    html = render_form(CAT, FormContext(groups=[]))
    assert 'value="small"' in html and 'value="large"' not in html
    assert 'name="gpu"' not in html  # only "none" is available: no GPU field at all


def test_form_preselects_previous_and_escapes_labels():
    html = render_form(CAT, FormContext(groups=["gpu-users", "staff"], previous={"size": "large", "gpu": "t4", "disk": "50Gi"},
                                        gpu_free={"t4": 1}))
    assert re.search(r'value="large"\s+checked', html)
    assert re.search(r'value="t4"\s+selected>1 × T4 &lt;b&gt; \(1 free\)', html)
    assert re.search(r'value="50Gi"\s+selected', html)


def test_notes_and_extra_fields():
    html = render_form(CAT, FormContext(notes={"size": "advisory <x>"},
                                        extra_fields=[ExtraField("auto_shutoff", "Auto-shutoff", [("1h", "1 hour")], "1h")]))
    assert "advisory &lt;x&gt;" in html and 'name="auto_shutoff"' in html


def test_form_to_options():
    data = {"size": ["small"], "_xsrf": ["abc"], "gpu": ["a", "b"], "other": ["x"], "disk": []}
    assert form_to_options(data, ["size", "gpu", "disk"]) == {"size": "small", "gpu": ["a", "b"], "other": "x"}
