"""A drawing made into a sample that looks like the images a network was trained on.

The Try-it pad gives thick white strokes on black. MNIST's digits were made by cropping
each to its bounding box, scaling its longer side to 20 of 28 pixels and centring its
centre of mass (`MNIST_STYLE`). Other digits look otherwise: a folder of thick, dark
digits that fill their frame on white paper is read by a network trained on it as
something else when a drawing is prepared the MNIST way (a 0 and a 1 both read as 4).
So `measure_style` measures, on a few hundred of the training images, how they draw:

- which is the ink: the background is the typical level of the images' border, the ink
  the level farthest from it (dark on light, or light on dark);
- how much of the frame the ink fills: its bounding box's longer side over the frame's
  side (MNIST: 20/28), which leaves the margins;
- where it is centred: by its bounding box or by its centre of mass, whichever the
  images keep closer to the frame's centre;
- how wide the strokes are: twice the ink's area over its outline's length (a stroke of
  length L and width w has area L*w and an outline of 2L).

`prepare_drawing(drawing, shape, style)` then thickens or thins the drawing's strokes to
that width, scales and centres it the same way and paints it in the images' levels. The
run folder records the style measured on its training set (config.json "drawing_style").
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from pytorchgui.core.data.samples import pixel_scale
from pytorchgui.core.errors import DatasetError

CENTRES = ("mass", "box")
STYLE_SAMPLES = 300  # images measured: enough for steady medians, a few milliseconds
INK_THRESHOLD = 0.5  # a pixel is ink when it is over half way from the background to the ink
DRAWN = 0.05  # a pad pixel is part of the drawing from this much ink on (its soft edges too)


@dataclass(frozen=True)
class DrawingStyle:
    """How a set of images draws its shapes. Levels are 0..255; `stroke_width` is in pixels
    of a frame of `size`, None to keep a drawing's own strokes (scaled with it)."""

    background: float
    ink: float
    extent: float  # the ink's bounding box's longer side over the frame's side
    centre: str  # "mass" or "box"
    stroke_width: float | None = None
    size: tuple[int, int] = (28, 28)  # height, width of the images measured
    measured_on: int = 0  # how many images were measured; 0: a style set by hand

    @property
    def dark_on_light(self) -> bool:
        return self.ink < self.background

    def describe(self) -> str:
        ink = "dark ink on a light background" if self.dark_on_light else "light ink on a dark background"
        strokes = f", strokes {self.stroke_width:.1f} px wide" if self.stroke_width is not None else ""
        margin = max(0.0, (1 - self.extent) / 2)
        where = "its centre of mass" if self.centre == "mass" else "its bounding box"
        measured = f" (measured on {self.measured_on} training images)" if self.measured_on else ""
        return (f"{ink}{strokes}, filling {self.extent:.0%} of the {self.size[0]} x {self.size[1]} frame "
                f"(margins about {margin:.0%}), centred by {where}{measured}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "size": list(self.size)}

    @classmethod
    def from_dict(cls, values: Any, where: str = "drawing style") -> "DrawingStyle":
        """A style from config.json; DatasetError naming `where` when it is damaged."""
        try:
            width = values.get("stroke_width")
            style = cls(float(values["background"]), float(values["ink"]), float(values["extent"]),
                        str(values["centre"]), None if width is None else float(width),
                        tuple(int(v) for v in values["size"]), int(values.get("measured_on", 0)))
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise DatasetError(f"{where} is damaged ({type(error).__name__}: {error})") from None
        if (style.centre not in CENTRES or not 0 < style.extent <= 1 or len(style.size) != 2 or min(style.size) < 1
                or (style.stroke_width is not None and style.stroke_width <= 0)):
            raise DatasetError(f"{where} is damaged: its centre, extent, size or stroke width is out of range")
        return style


# MNIST's own preparation (LeCun et al.): light on dark, 20 of 28 pixels, centre of mass.
MNIST_STYLE = DrawingStyle(background=0.0, ink=255.0, extent=20 / 28, centre="mass")


# -- measuring ---------------------------------------------------------------------------------
def image_sample(dataset, count: int = STYLE_SAMPLES) -> torch.Tensor:
    """Up to `count` of an image dataset's samples, evenly spread, as floats 0..255 [N, C, H, W]."""
    step = max(1, len(dataset) // count)
    indices = range(0, len(dataset), step)
    inputs = getattr(dataset, "inputs", None)
    images = inputs[list(indices)[:count]] if inputs is not None else \
        torch.stack([dataset[index][0] for index in list(indices)[:count]])
    return images.float() * (pixel_scale(dataset) * 255.0)


def dataset_style(dataset, count: int = STYLE_SAMPLES) -> DrawingStyle | None:
    """The style of an image dataset of 1 or 3 channels, None for other data (tables,
    tokens, series) or images with no ink to measure."""
    shape = list(getattr(dataset, "sample_shape", []))
    if getattr(dataset, "kind", None) != "image" or len(shape) != 3 or shape[0] not in (1, 3) or len(dataset) == 0:
        return None
    return measure_style(image_sample(dataset, count))


def measure_style(images: torch.Tensor) -> DrawingStyle | None:
    """The style of images [N, C, H, W] (levels 0..255); None when none has ink on a
    background (every image of one level)."""
    grey = images.float().mean(1)  # [N, H, W]: colour images are measured by their brightness
    count, height, width = grey.shape
    border = torch.cat([grey[:, 0, :], grey[:, -1, :], grey[:, :, 0], grey[:, :, -1]], 1)
    background = border.median(1).values  # [N]
    dark_on_light = int(((grey.mean((1, 2)) - background) < 0).sum()) * 2 > count
    sign = -1.0 if dark_on_light else 1.0
    contrast = ((grey - background[:, None, None]) * sign).clamp_min(0)
    peak = contrast.flatten(1).quantile(0.99, dim=1)
    kept = peak > 8  # an image whose ink is within 8 levels of its background has none
    if not bool(kept.any()):
        return None
    ink = (contrast[kept] / peak[kept, None, None]).clamp(0, 1)
    background, peak = background[kept], peak[kept]
    boxes = [_ink_box(image) for image in ink]
    present = [index for index, box in enumerate(boxes) if box is not None]
    if not present:
        return None
    extent = torch.tensor([max((boxes[i][2] - boxes[i][0]) / height, (boxes[i][3] - boxes[i][1]) / width)
                           for i in present]).median()
    by_box = torch.tensor([_off_centre(_box_centre(boxes[i]), height, width) for i in present]).median()
    by_mass = torch.tensor([_off_centre(_mass_centre(ink[i]), height, width) for i in present]).median()
    widths = torch.tensor([stroke_width(ink[i]) for i in present])
    background_level = float(background.median())
    return DrawingStyle(background=round(background_level, 1),
                        ink=round(background_level + sign * float(peak.median()), 1),
                        extent=round(float(extent), 3), centre="mass" if by_mass <= by_box else "box",
                        stroke_width=round(float(widths.median()), 2), size=(height, width), measured_on=len(present))


def stroke_width(ink: torch.Tensor) -> float:
    """Twice the ink's area over the length of its outline: the width in pixels of the
    strokes of an ink image [H, W] (0..1). Both are taken on the pixels over half way to
    the ink, so that noise (the built-in shapes have plenty) and faint anti-aliased edges
    count for nothing; the outline is the length of the steps between ink and background
    (horizontal and vertical steps of one pixel together count as one diagonal step of
    sqrt(2), so a slanted stroke measures as wide as an upright one)."""
    mask = (ink > INK_THRESHOLD).float()
    padded = torch.nn.functional.pad(mask, (1, 1, 1, 1))
    rows, columns = padded[1:, :-1] - padded[:-1, :-1], padded[:-1, 1:] - padded[:-1, :-1]
    outline = float((rows.square() + columns.square()).sqrt().sum())
    return 2 * float(mask.sum()) / outline if outline > 0 else 0.0


def _ink_box(ink: torch.Tensor, threshold: float = INK_THRESHOLD) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the pixels over `threshold`, bottom and right exclusive."""
    where = (ink > threshold).nonzero()
    if len(where) == 0:
        return None
    (top, left), (bottom, right) = where.min(0).values.tolist(), (where.max(0).values + 1).tolist()
    return top, left, bottom, right


def _box_centre(box: tuple[int, int, int, int]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _mass_centre(ink: torch.Tensor) -> tuple[float, float]:
    """Centre of mass of [H, W], in the same units as _box_centre (pixel i spans i..i+1)."""
    mass = ink.sum()
    rows = torch.arange(ink.shape[0], dtype=torch.float32) + 0.5
    columns = torch.arange(ink.shape[1], dtype=torch.float32) + 0.5
    return float((ink.sum(1) * rows).sum() / mass), float((ink.sum(0) * columns).sum() / mass)


def _off_centre(point: tuple[float, float], height: int, width: int) -> float:
    return ((point[0] - height / 2) ** 2 + (point[1] - width / 2) ** 2) ** 0.5


# -- preparing ---------------------------------------------------------------------------------
def prepare_drawing(image: torch.Tensor, sample_shape: list[int], style: DrawingStyle = MNIST_STYLE) -> torch.Tensor:
    """A drawing (H x W, 0 background .. 1 ink) made into a sample [C, H, W] (uint8) in
    `style`: cropped to its ink, its strokes made as wide as the style's (when it has a
    width), scaled so its longer side fills the style's share of the frame, centred by
    its centre of mass or its box, in the style's background and ink levels."""
    channels, height, width = (sample_shape + [1, 1])[:3] if len(sample_shape) == 3 else (1, *sample_shape[-2:])
    image = image.float()
    box = _ink_box(image, DRAWN)
    canvas = torch.zeros((height, width))
    if box is not None:
        crop = image[box[0]:box[2], box[1]:box[3]]
        inner = max(1, round(min(height, width) * style.extent))
        if style.stroke_width is not None:
            wanted = style.stroke_width * min(height, width) / min(style.size)
            crop = _with_stroke_width(image, box, wanted, inner)
        _place(canvas, crop, inner, style.centre)
    sample = style.background + (style.ink - style.background) * canvas.clamp(0, 1)
    return sample.round().clamp(0, 255).to(torch.uint8).expand(channels, height, width).clone()


def _scaled(crop: torch.Tensor, inner: int) -> torch.Tensor:
    scale = inner / max(crop.shape)
    size = (max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale)))
    return torch.nn.functional.interpolate(crop[None, None], size=size, mode="area")[0, 0]


def _with_stroke_width(image: torch.Tensor, box, wanted: float, inner: int) -> torch.Tensor:
    """The drawing's crop with its strokes grown or shrunk (a round pen's dilation or
    erosion at the drawing's resolution) until, once scaled, they are `wanted` pixels
    wide. Growing the strokes grows their box, so the scale is found again each time."""
    radius, crop = 0, image[box[0]:box[2], box[1]:box[3]]
    own_width = stroke_width(image)
    for _ in range(4):
        scale = inner / max(crop.shape)
        current = stroke_width(_scaled(crop, inner))
        step = round((wanted - current) / scale / 2)
        if step == 0 or (step < 0 and radius + step <= -own_width / 2 + 1):  # thinner would wipe the strokes out
            break
        radius += step
        grown = _morphed(image, radius)
        grown_box = _ink_box(grown, DRAWN)
        if grown_box is None:
            break
        crop = grown[grown_box[0]:grown_box[2], grown_box[1]:grown_box[3]]
    return crop


def _morphed(image: torch.Tensor, radius: int) -> torch.Tensor:
    """The strokes dilated (radius > 0) or eroded (radius < 0) by about |radius| pixels:
    3 x 3 squares and crosses in turn, which grow an octagon close to a round pen's disc
    (one pass of a disc of 40 pixels across a 280 x 280 pad would take half a gigabyte)."""
    x = (image if radius > 0 else 1 - image)[None, None]
    for step in range(abs(radius)):
        padded = torch.nn.functional.pad(x, (1, 1, 1, 1), value=float(radius < 0))  # outside: no ink
        if step % 2 == 0:
            x = torch.nn.functional.max_pool2d(padded, 3, stride=1)
        else:
            x = torch.stack([padded[..., 1:-1, 1:-1], padded[..., :-2, 1:-1], padded[..., 2:, 1:-1],
                             padded[..., 1:-1, :-2], padded[..., 1:-1, 2:]]).amax(0)
    return x[0, 0] if radius > 0 else 1 - x[0, 0]


def _place(canvas: torch.Tensor, crop: torch.Tensor, inner: int, centre: str) -> None:
    """`crop` scaled to `inner` on its longer side, put on `canvas` centred by its mass or box."""
    crop = _scaled(crop, inner)
    height, width = canvas.shape
    if centre == "mass":
        row, column = _mass_centre(crop)
    else:
        row, column = crop.shape[0] / 2, crop.shape[1] / 2
    top = min(max(int(round(height / 2 - row)), 0), height - crop.shape[0])
    left = min(max(int(round(width / 2 - column)), 0), width - crop.shape[1])
    canvas[top:top + crop.shape[0], left:left + crop.shape[1]] = crop
