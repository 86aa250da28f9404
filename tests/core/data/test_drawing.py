"""Drawings prepared like the training images: the style measured on synthetic digits (thin
MNIST-like ones and thick, frame-filling, dark-on-white ones) and a pad drawing made to
match it."""
import numpy
import pytest
import torch

from pytorchgui.core.data.drawing import MNIST_STYLE, DrawingStyle, dataset_style, measure_style, prepare_drawing
from pytorchgui.core.data.samples import TensorDataset
from pytorchgui.core.errors import DatasetError


def _digit(draw, digit: int, box: tuple[float, float, float, float], width: int, ink: int) -> None:
    left, top, right, bottom = box
    if digit == 0:
        draw.ellipse(box, outline=ink, width=width)
    else:  # a 1: a vertical bar with a short flag
        middle = (left + right) / 2
        draw.line([(middle, top), (middle, bottom)], fill=ink, width=width)
        draw.line([(middle, top), (middle - (right - left) / 3, top + (bottom - top) / 4)], fill=ink, width=width)


def digits(count: int, *, thick: bool, size: int = 28, seed: int = 0) -> torch.Tensor:
    """Synthetic 0s and 1s [N, 1, size, size] drawn at 4x and shrunk (soft edges, as scans):
    thin light strokes in a 20-pixel box (MNIST-like), or thick dark strokes on white
    that fill the frame (the folder of digit PNGs of issue 29)."""
    from PIL import Image, ImageDraw

    generator, scale, images = numpy.random.default_rng(seed), 4, []
    for index in range(count):
        background, ink = (255, 0) if thick else (0, 255)
        image = Image.new("L", (size * scale, size * scale), background)
        half = (13.5 if thick else 10) * scale * generator.uniform(0.95, 1.0)
        centre = size * scale / 2 + generator.uniform(-1, 1) * scale
        wide = half * (0.55 if index % 2 == 0 else 0.5)
        box = (centre - wide, centre - half, centre + wide, centre + half)
        _digit(ImageDraw.Draw(image), index % 2, box, (5 if thick else 2) * scale, ink)
        small = image.resize((size, size), Image.BOX)
        images.append(torch.from_numpy(numpy.asarray(small, dtype=numpy.uint8).copy()))
    return torch.stack(images)[:, None]


def test_drawing_is_cropped_scaled_and_centred_like_mnist():
    drawing = torch.zeros(280, 280)
    drawing[20:120, 200:240] = 1.0  # a bar in the top right corner
    sample = prepare_drawing(drawing, [1, 28, 28])
    assert sample.shape == (1, 28, 28) and sample.dtype == torch.uint8
    rows, columns = (sample[0] > 0).nonzero().unbind(1)
    assert int(rows.max() - rows.min() + 1) == 20  # the longer side fills 20 pixels
    centre = (sample[0].float() * torch.arange(28.0)[:, None]).sum() / sample[0].float().sum()
    assert abs(float(centre) - 13.5) < 1.0
    assert prepare_drawing(torch.zeros(10, 10), [1, 28, 28]).sum() == 0


def test_the_style_of_thin_light_digits_is_mnists():
    style = measure_style(digits(200, thick=False).float())
    assert not style.dark_on_light and style.background == 0 and style.ink > 200
    assert style.extent == pytest.approx(20 / 28, abs=0.06)
    assert 1.3 < style.stroke_width < 2.8 and style.measured_on == 200 and style.size == (28, 28)


def test_the_style_of_thick_dark_frame_filling_digits():
    dataset = TensorDataset("thick", "synthetic", digits(600, thick=True), torch.zeros(600, dtype=torch.int64),
                            ["0", "1"], "image")
    style = dataset_style(dataset)
    assert style.dark_on_light and style.background == 255 and style.ink < 50
    assert style.extent > 0.9 and 4.0 < style.stroke_width < 6.5
    assert style.measured_on == 300  # a sample of the set, evenly spread
    assert "dark ink on a light background" in style.describe() and "measured on 300" in style.describe()
    table = TensorDataset("table", "synthetic", torch.rand(10, 4), torch.zeros(10, dtype=torch.int64), ["a"], "table")
    assert dataset_style(table) is None


def _pad_drawing(digit: int) -> torch.Tensor:
    """A digit drawn on the 280 x 280 pad: a marker 23 pixels wide, white on black, not centred."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (280, 280), 0)
    _digit(ImageDraw.Draw(image), digit, (90, 40, 190, 200), 23, 255)
    return torch.from_numpy(numpy.asarray(image, dtype=numpy.float32) / 255.0)


@pytest.mark.parametrize("digit", [0, 1])
def test_a_drawing_is_prepared_to_look_like_thick_dark_training_digits(digit):
    training = measure_style(digits(200, thick=True).float())
    sample = prepare_drawing(_pad_drawing(digit), [1, 28, 28], training)
    assert sample.shape == (1, 28, 28) and sample.dtype == torch.uint8
    prepared = measure_style(sample[None].float())
    assert prepared.dark_on_light and prepared.background == 255 and prepared.ink < 50
    assert prepared.extent == pytest.approx(training.extent, abs=0.08)
    assert prepared.stroke_width == pytest.approx(training.stroke_width, rel=0.3)
    mnist = measure_style(prepare_drawing(_pad_drawing(digit), [1, 28, 28])[None].float())
    assert not mnist.dark_on_light and mnist.extent == pytest.approx(20 / 28, abs=0.05)  # the other choice
    assert mnist.stroke_width < 0.7 * training.stroke_width


def test_a_drawing_is_thinned_for_thin_training_strokes_and_kept_when_the_style_has_no_width():
    thin = DrawingStyle(background=0, ink=255, extent=0.9, centre="box", stroke_width=1.5, size=(28, 28))
    sample = prepare_drawing(_pad_drawing(1), [1, 28, 28], thin)
    assert measure_style(sample[None].float()).stroke_width == pytest.approx(1.5, rel=0.35)
    empty = prepare_drawing(torch.zeros(280, 280), [3, 28, 28], DrawingStyle(255, 0, 0.9, "box", 4.0))
    assert empty.shape == (3, 28, 28) and int(empty.min()) == 255  # nothing drawn: the background alone


def test_a_style_round_trips_through_its_dict_and_a_damaged_one_is_named():
    style = measure_style(digits(40, thick=True).float())
    assert DrawingStyle.from_dict(style.to_dict()) == style
    assert DrawingStyle.from_dict(MNIST_STYLE.to_dict()) == MNIST_STYLE
    with pytest.raises(DatasetError, match="config.json's drawing_style is damaged"):
        DrawingStyle.from_dict({"background": 0, "ink": 255}, "config.json's drawing_style")
    with pytest.raises(DatasetError, match="out of range"):
        DrawingStyle.from_dict({**style.to_dict(), "extent": 3}, "config.json's drawing_style")


def test_noise_does_not_thin_the_measured_strokes():
    from pytorchgui.core.data.datasets import make_builtin

    style = dataset_style(make_builtin(600))  # strokes 2 to 4.4 pixels wide, under noise of 12 % std
    assert not style.dark_on_light and 2.0 < style.stroke_width < 4.4
