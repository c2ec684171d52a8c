"""Generate the procedural style images in assets/ (numpy and Pillow only, deterministic).

    python assets/make_styles.py

- style_swirls.jpg: short thick brush strokes that follow a field of whirlpools, in night blues
  with yellow stars, after the manner of Van Gogh's night skies.
- style_shapes.jpg: a composition of circles, rings, bars and triangles on a warm ground, after
  the manner of Kandinsky's abstract paintings.

The same seed always gives the same pixels, so the committed files can be rebuilt exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
SIZE = 640  # square; the style predictor sees 256×256, more only helps the preview
JPEG_QUALITY = 90


def swirls(seed: int = 7) -> Image.Image:
    rng = np.random.default_rng(seed)
    # A flow field: a gentle wind to the right plus a few whirlpools (vortices) of either sense.
    centres = rng.uniform(0.1, 0.9, size=(6, 2)) * SIZE
    spins = rng.choice([-1.0, 1.0], size=6) * rng.uniform(0.6, 1.2, size=6)

    def direction(x: float, y: float) -> tuple[float, float]:
        dx, dy = 1.0, 0.15 * np.sin(y / 60.0)
        for (cx, cy), spin in zip(centres, spins, strict=True):
            rx, ry = x - cx, y - cy
            falloff = spin * 90.0 / (rx * rx + ry * ry + 900.0) ** 0.5
            dx, dy = dx - ry / 45.0 * falloff, dy + rx / 45.0 * falloff
        norm = (dx * dx + dy * dy) ** 0.5 + 1e-9
        return dx / norm, dy / norm

    blues = np.array([(18, 32, 84), (32, 64, 140), (58, 100, 178), (96, 140, 200), (24, 48, 110)])
    golds = np.array([(240, 206, 80), (250, 228, 130), (214, 170, 50)])
    canvas = Image.new("RGB", (SIZE, SIZE), (20, 36, 90))
    draw = ImageDraw.Draw(canvas)
    for _ in range(5200):
        x, y = rng.uniform(0, SIZE, size=2)
        near_centre = min(np.hypot(x - cx, y - cy) for cx, cy in centres) < 40
        palette = golds if near_centre or rng.random() < 0.06 else blues
        color = palette[rng.integers(len(palette))] + rng.integers(-14, 15, size=3)
        points = [(x, y)]
        for _ in range(int(rng.integers(5, 11))):  # trace a short stroke along the flow
            dx, dy = direction(x, y)
            x, y = x + 4.0 * dx, y + 4.0 * dy
            points.append((x, y))
        width = int(rng.integers(3, 7))
        draw.line(points, fill=tuple(int(c) for c in np.clip(color, 0, 255)), width=width)
    for _ in range(14):  # stars: bright discs with a halo
        x, y = rng.uniform(0, SIZE, size=2)
        radius = rng.uniform(6, 16)
        halo = ((2.2, (200, 190, 110)), (1.4, (245, 225, 120)), (1.0, (255, 250, 200)))
        for grow, color in halo:
            r = radius * grow
            draw.ellipse((x - r, y - r, x + r, y + r), fill=color)
    return canvas.filter(ImageFilter.SMOOTH)


def shapes(seed: int = 11) -> Image.Image:
    rng = np.random.default_rng(seed)
    # A warm ground that darkens toward the lower right.
    ys, xs = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    shade = (0.55 * xs + 0.45 * ys)[..., None]
    ground = (1 - shade) * np.array([238, 222, 186]) + shade * np.array([196, 150, 108])
    canvas = Image.fromarray(ground.astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    colors = [
        (200, 40, 40),
        (30, 60, 150),
        (240, 190, 30),
        (20, 20, 20),
        (40, 130, 90),
        (220, 110, 30),
        (120, 50, 140),
    ]

    def pick() -> tuple[int, int, int]:
        return colors[rng.integers(len(colors))]

    for _ in range(7):  # bars and thin lines crossing the picture
        x0, y0, x1, y1 = rng.uniform(-0.1, 1.1, size=4) * SIZE
        draw.line((x0, y0, x1, y1), fill=pick(), width=int(rng.choice([2, 3, 8, 14])))
    for _ in range(7):  # triangles of varied size around random centres
        centre = rng.uniform(0.15, 0.85, size=2) * SIZE
        points = centre + rng.uniform(-1, 1, size=(3, 2)) * rng.uniform(40, 150)
        draw.polygon([tuple(p) for p in points], fill=pick(), outline=(20, 20, 20))
    for _ in range(4):  # a checkerboard patch
        x, y, cell = *rng.uniform(0.05, 0.8, size=2) * SIZE, int(rng.integers(10, 20))
        for i in range(4):
            for j in range(4):
                color = pick() if (i + j) % 2 else (245, 240, 225)
                draw.rectangle(
                    (x + i * cell, y + j * cell, x + (i + 1) * cell, y + (j + 1) * cell),
                    fill=color,
                )
    for _ in range(9):  # circles, some with concentric rings
        x, y = rng.uniform(0.1, 0.9, size=2) * SIZE
        radius = rng.uniform(18, 90)
        for ring in range(int(rng.integers(1, 4))):
            r = radius * (1 - ring / 3.5)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=pick(), outline=(20, 20, 20), width=3)
    return canvas


def main() -> None:
    for name, make in (("style_swirls.jpg", swirls), ("style_shapes.jpg", shapes)):
        make().save(HERE / name, "JPEG", quality=JPEG_QUALITY, optimize=True)
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
