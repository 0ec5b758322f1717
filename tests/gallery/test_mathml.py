"""Server-side math: LaTeX becomes inert MathML; anything else stays as escaped source."""

from __future__ import annotations

import nbformat
import pytest
from bs4 import BeautifulSoup

from jupyterhub_saturn.gallery.codeblocks import CodeBlocks
from jupyterhub_saturn.gallery.mathml import is_inert_mathml, latex_output, rebuild, to_mathml
from jupyterhub_saturn.gallery.render import to_html

from .inert import inert_problems

HOSTILE_TEX = [
    r"\href{javascript:alert(1)}{x}",
    r"\text{<img src=x onerror=alert(1)>}",
    r"</math><script>alert(1)</script>",
    r"\style{background:url(//evil)}{x}",
    r"\class{x}{y}\unicode{x}\html{<b>}",
    r"\color{red\" onmouseover=\"alert(1)}{x}",
    "x" * 5000,
    r"\frac{" * 300,
]


@pytest.mark.parametrize("tex", [r"x^2", r"\frac{a}{b}", r"\sum_{i=0}^n i^2", r"\begin{matrix}a & b\\ c & d\end{matrix}",
                                 r"\sqrt[3]{x}", r"\mathbb{R}", r"\color{red}{x}"])
def test_common_formulas_become_mathml(tex):
    out = to_mathml(tex, display=True)
    assert out and out.startswith('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">')
    assert is_inert_mathml(out) and inert_problems(out) == []


@pytest.mark.parametrize("tex", HOSTILE_TEX)
def test_hostile_latex_is_inert_or_left_as_source(tex):
    out = to_mathml(tex, display=False)
    if out is not None:
        assert is_inert_mathml(out) and inert_problems(out) == [], out
        assert "javascript" not in out and "<script" not in out and "url(" not in out


def test_rebuild_drops_foreign_markup():
    assert rebuild('<math><mi>x</mi><maction actiontype="toggle"><mi>y</mi></maction></math>') is None
    assert rebuild('<math><mi href="https://evil">x</mi></math>') == (
        '<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi></math>')
    assert rebuild('<math><mi onclick="alert(1)" mathvariant="bold">x&lt;</mi></math>') == (
        '<math xmlns="http://www.w3.org/1998/Math/MathML"><mi mathvariant="bold">x&lt;</mi></math>')
    assert rebuild('<math><mglyph src="x"/></math>') is None
    assert rebuild("<b>x</b>") is None


def test_shape_check_is_independent_of_the_builder():
    good = '<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi></math>'
    assert is_inert_mathml(good)
    for bad in ['<math><mi onclick="a">x</mi></math>', '<math><img src="x"></math>', '<math><mi>x</mi></math><b>',
                '<math xmlns="http://evil"><mi>x</mi></math>', '<math><mi>x</math>', "<math>a<b</math>"]:
        assert not is_inert_mathml(bad), bad
    blocks = CodeBlocks("t")
    assert blocks.hold_math('<math><mi onclick="a">x</mi></math>') is None


def test_latex_outputs():
    assert latex_output("$$x$$") == ("x", True) and latex_output(r"\[y\]") == ("y", True)
    assert latex_output(r"$\displaystyle z$") == (r"\displaystyle z", False)
    assert latex_output(r"\begin{equation}q\end{equation}") == (r"\begin{equation}q\end{equation}", True)
    assert latex_output("plain text") is None and latex_output(None) is None


def test_report_typesets_math_in_markdown_and_outputs_and_drops_the_repeated_title():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Waves\n\nInline $e^{i\\pi}+1=0$, display\n\n$$\\int_0^1 x\\,dx$$\n\n"
                                      "and \\begin{align}a&=b\\\\c&=d\\end{align} and money: 5 \\$ only"),
        nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/latex": "$\\displaystyle x^{2}$", "text/plain": "x**2"}, execution_count=1)]),
        nbformat.v4.new_markdown_cell("Broken $\\frac{$ stays source; hostile $\\href{javascript:alert(1)}{x}$"),
    ]
    html = to_html(nbformat.writes(nb), byline="by ada · 1 May 2026", description="About <waves>")
    assert inert_problems(html) == []
    soup = BeautifulSoup(html, "html.parser")
    assert len(soup.find_all("math")) >= 5
    assert [h.get_text() for h in soup.find_all("h1")] == ["Waves"]  # one title, not two
    assert soup.select_one(".saturn-byline").get_text() == "by ada · 1 May 2026"
    assert soup.select_one(".saturn-description").get_text() == "About <waves>"
    assert soup.find("mtable") is not None  # the align environment
    assert "javascript" not in html
