"""Read what a person sees in a Plotly heatmap: the numbers printed in its cells."""

from __future__ import annotations


def cell_texts(page, selector: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The texts printed in the cells of the Plotly plot(s) under ``selector``, in order."""
    return page.eval_on_selector_all(
        f"{selector} g.heatmap-label text", "nodes => nodes.map(n => n.textContent)"
    )


def wait_for_cells(page, selector: str, expected: list[str], timeout: float = 5000) -> None:  # type: ignore[no-untyped-def]
    """Wait until the cells under ``selector`` print exactly ``expected`` (− as the minus sign)."""
    want = [text.replace("-", "−") for text in expected]
    try:
        page.wait_for_function(
            """([selector, want]) => {
                const got = [...document.querySelectorAll(selector + ' g.heatmap-label text')]
                  .map(n => n.textContent);
                return JSON.stringify(got) === JSON.stringify(want);
            }""",
            arg=[selector, want],
            timeout=timeout,
        )
    except Exception as error:  # show what was there instead
        raise AssertionError(
            f"cells under {selector} are {cell_texts(page, selector)}, expected {want}"
        ) from error
