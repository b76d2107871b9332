"""The lectures' classic architectures, in plain ``torch.nn``: AlexNet, VGG-16, ResNet-18,
ResNet-50 and U-Net, as zoo networks.

No ImageNet (or cell-image) weights can be fetched here, so they are **untrained**: each
spec's weights are :meth:`Weights.untrained <app.nets.weights.Weights.untrained>` (the
architecture's own random initialisation, seeded), and every page that shows them says so.
What they teach is their shape: the architecture table, block diagram, where parameters
and compute live, receptive fields. Their parameter counts equal torchvision's and their
multiply-adds its published GFLOPS (tests/nets/test_architectures.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

from app.nets.classic.alexnet import AlexNet
from app.nets.classic.resnet import resnet18, resnet50
from app.nets.classic.unet import UNet
from app.nets.classic.vgg import vgg16
from app.nets.labels import imagenet_labels
from app.nets.preprocess import Preprocess, _grayscale, centre_square, unit_scale
from app.nets.weights import Weights

if TYPE_CHECKING:
    from app.nets.registry import ModelSpec

#: torchvision's ImageNet statistics (of pixel values in [0, 1]).
IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def imagenet_scale(unit: torch.Tensor) -> torch.Tensor:
    return (unit - IMAGENET_MEAN) / IMAGENET_STD


IMAGENET = Preprocess(
    "RGB; the central square, resized to 224×224 (bicubic); (v − mean) / std with "
    "torchvision's ImageNet mean and standard deviation",
    lambda image: centre_square(image, 224),
    imagenet_scale,
)
UNET_INPUT = Preprocess(
    "grayscale; the central square, resized to 572×572 (bicubic); values in [0, 1]",
    lambda image: _grayscale(centre_square(image, 572)),
    unit_scale,
)
PHOTOS = ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "camera.png")
UNTRAINED = "Untrained here (random weights): no ImageNet weights can be fetched."


def classic_specs() -> list[ModelSpec]:
    """The specs of the classic architectures, in the order the zoo lists them."""
    from app.nets.registry import ModelSpec

    def imagenet(
        name: str, title: str, description: str, paper: str, builder: Callable[[], nn.Module]
    ) -> ModelSpec:
        return ModelSpec(
            name=name, title=title, description=f"{description} {UNTRAINED}", paper=paper,
            builder=builder, weights=Weights.untrained(), labels=imagenet_labels(),
            preprocess=IMAGENET, input_shape=(3, 224, 224), samples=PHOTOS,
        )  # fmt: skip

    return [
        imagenet(
            "alexnet",
            "AlexNet",
            "The network that won ImageNet 2012: five convolutions (11×11 stride 4 first), "
            "max pooling, and three dense layers that hold most of its 61 million parameters.",
            "A. Krizhevsky, I. Sutskever, G. E. Hinton. ImageNet Classification with Deep "
            "Convolutional Neural Networks. NeurIPS 2012 (torchvision's single-tower variant: "
            "A. Krizhevsky, One weird trick for parallelizing CNNs, 2014).",
            AlexNet,
        ),
        imagenet(
            "vgg16",
            "VGG-16",
            "Thirteen 3×3 convolutions in five blocks, each ending in a 2×2 max pool, and three "
            "dense layers: depth from small kernels. The dense layers hold 124 of its 138 "
            "million parameters; the convolutions do nearly all the arithmetic.",
            "K. Simonyan, A. Zisserman. Very Deep Convolutional Networks for Large-Scale Image "
            "Recognition. ICLR 2015.",
            vgg16,
        ),
        imagenet(
            "resnet18",
            "ResNet-18",
            "A 7×7 stem, four stages of two basic residual blocks (3×3, 3×3, plus the "
            "shortcut), global average pooling and one dense layer.",
            "K. He, X. Zhang, S. Ren, J. Sun. Deep Residual Learning for Image Recognition. "
            "CVPR 2016.",
            resnet18,
        ),
        imagenet(
            "resnet50",
            "ResNet-50",
            "A 7×7 stem, four stages of 3, 4, 6 and 3 bottleneck blocks (1×1 reduce, 3×3, 1×1 "
            "expand, plus the shortcut), global average pooling and one dense layer.",
            "K. He, X. Zhang, S. Ren, J. Sun. Deep Residual Learning for Image Recognition. "
            "CVPR 2016.",
            resnet50,
        ),
        ModelSpec(
            name="unet",
            title="U-Net",
            description=(
                "The segmentation network of the paper's figure 1: a contracting path of "
                "unpadded 3×3 convolutions and 2×2 max pools, an expanding path of 2×2 "
                "up-convolutions, each joined by a skip connection to the cropped maps of its "
                "level, and a 1×1 convolution that labels every pixel of the 388×388 centre "
                "of a 572×572 image as cell or background. Untrained here (random weights): "
                "the paper's cell-image weights cannot be fetched."
            ),
            paper=(
                "O. Ronneberger, P. Fischer, T. Brox. U-Net: Convolutional Networks for "
                "Biomedical Image Segmentation. MICCAI 2015."
            ),
            builder=UNet,
            weights=Weights.untrained(),
            labels=("background", "cell"),
            preprocess=UNET_INPUT,
            input_shape=(1, 572, 572),
            samples=("camera.png", "astronaut.png"),
        ),
    ]
