"""The lessons, in lecture order: what the home page introduces and the navigation links.

A lesson is linked only when the app serves its page (checked against the app's routes), so
the home page never points at something that does not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute


@dataclass(frozen=True)
class Lesson:
    slug: str
    title: str
    short: str  # the navigation label
    summary: str
    href: str  # where the link goes
    route: str  # the route path that must exist for the lesson to be linked


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "pixels",
        "Images as numbers",
        "Pixels",
        "A photo is a grid of numbers: zoom in until every pixel shows its value, split it "
        "into red, green and blue, and see how grayscale is computed.",
        "/pixels",
        "/pixels",
    ),
    Lesson(
        "dense",
        "From a dense layer to a convolution",
        "Dense",
        "A dense layer from an image to an image has a weight for every pair of pixels. "
        "Ask for translation invariance, then locality, and watch 1,296 weights become a "
        "3×3 kernel.",
        "/dense-to-convolution",
        "/dense-to-convolution",
    ),
    Lesson(
        "convolution",
        "Convolution, step by step",
        "Convolution",
        "Slide a kernel over an input and watch every multiply-and-sum. Padding, stride, "
        "dilation, channels and the output-size formula, live.",
        "/convolution",
        "/convolution",
    ),
    Lesson(
        "kernels",
        "Kernels on photos",
        "Kernels",
        "Sharpen, blur, Sobel and your own kernels applied to real photos; hover a pixel to "
        "see the weighted sum that made it.",
        "/kernels",
        "/kernels",
    ),
    Lesson(
        "pointwise",
        "1×1 convolution",
        "1×1",
        "A 1×1 kernel sees one pixel: it mixes that pixel's channels with a small matrix, the "
        "same at every position. Grayscale conversion is one.",
        "/pointwise",
        "/pointwise",
    ),
    Lesson(
        "pooling",
        "Pooling",
        "Pooling",
        "Max, average and sum pooling step by step, and why pooling buys a little "
        "translation invariance.",
        "/pooling",
        "/pooling",
    ),
    Lesson(
        "activations",
        "Activation functions",
        "Activations",
        "ReLU, leaky ReLU, ELU, sigmoid and tanh, their derivatives, and what they do to a "
        "feature map.",
        "/activations",
        "/activations",
    ),
    Lesson(
        "transposed",
        "Transposed and dilated convolution",
        "Transposed",
        "Upsampling by stamping the kernel, and the same result as zero insertion plus an "
        "ordinary convolution.",
        "/transposed",
        "/transposed",
    ),
    Lesson(
        "normalisation",
        "Normalisation",
        "Norms",
        "BatchNorm, LayerNorm, GroupNorm and InstanceNorm on a batch of feature maps: which "
        "values share a mean, and BatchNorm's running statistics in train and eval mode.",
        "/normalisation",
        "/normalisation",
    ),
    Lesson(
        "networks",
        "Networks, layer by layer",
        "Networks",
        "LeNet-5 and EfficientNet-Lite0 on your own image or a digit you draw: shapes, "
        "parameters, feature maps and probabilities.",
        "/networks",
        "/networks",
    ),
    Lesson(
        "filters",
        "Learned filters",
        "Filters",
        "What trained networks learned: first-layer filters in colour, and what a deep "
        "channel responds to.",
        "/networks",
        "/networks/{name}/filters",
    ),
    Lesson(
        "saliency",
        "Saliency maps",
        "Saliency",
        "Which pixels made the network say 'cat'? Gradients, SmoothGrad, Integrated "
        "Gradients, Grad-CAM and occlusion.",
        "/networks",
        "/networks/{name}/saliency",
    ),
    Lesson(
        "compare",
        "Two networks, side by side",
        "Compare",
        "The same image through two networks, the zoo's or your own: their predictions, "
        "their saliency maps and their architectures' figures side by side.",
        "/compare",
        "/compare",
    ),
    Lesson(
        "training",
        "Watch a network learn",
        "Training",
        "Train a CNN from scratch and watch its loss, accuracy, filters and gradients; "
        "train a plain and a residual 20-layer network side by side and see why deep "
        "networks need skip connections.",
        "/training",
        "/training",
    ),
)


def available_paths(routes: list[BaseRoute]) -> set[str]:
    """The route paths the app serves (routes of included routers too)."""
    return {context.path for context in iter_route_contexts(routes) if context.path is not None}


def lessons_with_availability(routes: list[BaseRoute]) -> list[dict[str, object]]:
    """Each lesson as a dict with ``number``, ``available`` and ``in_nav`` filled in.

    ``in_nav`` is false for a lesson whose link repeats an earlier lesson's (filters and
    saliency start from the networks page), so the navigation lists each page once.
    """
    paths = available_paths(routes)
    seen: set[str] = set()
    lessons = []
    for number, lesson in enumerate(LESSONS, start=1):
        available = lesson.route in paths
        lessons.append(
            {
                **lesson.__dict__,
                "number": number,
                "available": available,
                "in_nav": available and lesson.href not in seen,
            }
        )
        if available:
            seen.add(lesson.href)
    return lessons
