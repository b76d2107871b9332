"""The classic image kernels, by name, as they appear in the lecture notes and textbooks.

Each is a 2D list (rows of numbers) in cross-correlation orientation: the value at [0][0]
multiplies the top-left pixel of the window. Shared by the convolution playground and the
kernels-on-photos page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.ops.arrays import brief


@dataclass(frozen=True)
class Kernel:
    """A named kernel with a one-line description of what it does."""

    name: str
    title: str
    description: str
    weights: tuple[tuple[float, ...], ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "weights": [list(row) for row in self.weights],
        }


def _k(
    name: str, title: str, description: str, rows: Sequence[Sequence[float]], scale: float = 1
) -> Kernel:
    return Kernel(name, title, description, tuple(tuple(v * scale for v in r) for r in rows))


_GAUSS5 = [
    [1, 4, 6, 4, 1],
    [4, 16, 24, 16, 4],
    [6, 24, 36, 24, 6],
    [4, 16, 24, 16, 4],
    [1, 4, 6, 4, 1],
]

KERNELS: dict[str, Kernel] = {
    k.name: k
    for k in [
        _k(
            "identity",
            "Identity",
            "Copies the centre pixel: the output equals the input.",
            [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
        ),
        _k(
            "sharpen",
            "Sharpen",
            "Centre minus its four neighbours, plus the centre again.",
            [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
        ),
        _k(
            "box_blur",
            "Box blur",
            "The mean of the 3×3 neighbourhood.",
            [[1, 1, 1], [1, 1, 1], [1, 1, 1]],
            1 / 9,
        ),
        _k(
            "gaussian_blur",
            "Gaussian blur 3×3",
            "A weighted mean, heaviest at the centre.",
            [[1, 2, 1], [2, 4, 2], [1, 2, 1]],
            1 / 16,
        ),
        _k(
            "gaussian_blur_5",
            "Gaussian blur 5×5",
            "A wider Gaussian (binomial) blur.",
            _GAUSS5,
            1 / 256,
        ),
        _k(
            "laplacian",
            "Laplacian",
            "Second derivative: responds where intensity bends.",
            [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
        ),
        _k(
            "outline",
            "Outline",
            "Centre against all eight neighbours: edges in every direction.",
            [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
        ),
        _k(
            "emboss",
            "Emboss",
            "A diagonal gradient plus the pixel: a raised-relief look.",
            [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
        ),
        _k(
            "sobel_top",
            "Sobel top",
            "Bright above, dark below: horizontal edges.",
            [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
        ),
        _k(
            "sobel_bottom",
            "Sobel bottom",
            "Dark above, bright below: horizontal edges.",
            [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
        ),
        _k(
            "sobel_left",
            "Sobel left",
            "Bright left, dark right: vertical edges.",
            [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
        ),
        _k(
            "sobel_right",
            "Sobel right",
            "Dark left, bright right: vertical edges.",
            [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
        ),
        _k(
            "prewitt_top",
            "Prewitt top",
            "Like Sobel top, with equal weights.",
            [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
        ),
        _k(
            "prewitt_bottom",
            "Prewitt bottom",
            "Like Sobel bottom, with equal weights.",
            [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
        ),
        _k(
            "prewitt_left",
            "Prewitt left",
            "Like Sobel left, with equal weights.",
            [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
        ),
        _k(
            "prewitt_right",
            "Prewitt right",
            "Like Sobel right, with equal weights.",
            [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
        ),
        _k(
            "vertical_edge",
            "Vertical edge",
            "The lecture's vertical edge detector.",
            [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
        ),
        _k(
            "horizontal_edge",
            "Horizontal edge",
            "The lecture's horizontal edge detector.",
            [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
        ),
    ]
}


def get_kernel(name: str) -> Kernel:
    """A kernel by name; ``ValueError`` listing the known names otherwise."""
    try:
        return KERNELS[name]
    except KeyError:
        raise ValueError(f"unknown kernel {brief(name)}; known: {', '.join(KERNELS)}") from None
