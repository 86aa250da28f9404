"""DataSource: one value for where a dataset comes from, its spec string and its loading."""
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_writers import write_cifar10, write_cifar100, write_csv, write_image_folder, write_mnist, write_tensor_files
from pytorchgui.core.data.data_source import KINDS, TASKS, TEXT_COLUMNS, TORCHVISION_KINDS, DataSource, load_spec
from pytorchgui.core.data.datasets import DatasetError

# paths as users have them: spaces, colons, '?', '&', '%', '#', non-ASCII, and short-form look-alikes
paths = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30) | st.sampled_from(
    ["data/x:28x28", "C:\\Users\\me\\digits", "a?b&c=d#e%20", "runs/model:label", "~/Bilder/ä ö"])
sizes = st.none() | st.tuples(st.integers(1, 512), st.integers(1, 512))


SOURCES_BY_KIND = {  # every kind with every option it takes, in every combination
    "builtin": st.builds(DataSource, st.just("builtin"), samples=st.none() | st.integers(1, 10**6)),
    "sequences": st.builds(DataSource, st.just("sequences"), samples=st.none() | st.integers(1, 10**6)),
    **{kind: st.builds(DataSource, st.just(kind), paths, download=st.booleans()) for kind in TORCHVISION_KINDS},
    "folder": st.builds(DataSource, st.just("folder"), paths, size=sizes, channels=st.sampled_from([None, 1, 3])),
    "csv": st.builds(DataSource, st.just("csv"), paths, target=st.text(min_size=1, max_size=12).filter(str.strip),
                     task=st.sampled_from(TASKS), text_columns=st.sampled_from(TEXT_COLUMNS),
                     text_input=st.just("") | st.text(min_size=1, max_size=12),
                     tokens=st.sampled_from(["words", "characters"]), vocabulary=st.integers(3, 10**6),
                     length=st.integers(1, 4096)) | st.builds(
        DataSource, st.just("csv"), paths, target=st.text(min_size=1, max_size=12).filter(str.strip),
        window=st.integers(0, 1000), horizon=st.integers(0, 100)),
    "tensor": st.builds(DataSource, st.just("tensor"), paths, x_name=st.text(min_size=1, max_size=12),
                        y_name=st.text(min_size=1, max_size=12), layout=st.sampled_from(["auto", "nchw", "nhwc"])),
}


def test_the_property_covers_every_kind():
    assert set(SOURCES_BY_KIND) == set(KINDS)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(KINDS).flatmap(SOURCES_BY_KIND.get))
def test_spec_round_trips_exactly(source):
    assert DataSource.from_spec(source.to_spec()) == source


@pytest.mark.parametrize("spec, expected", [
    ("builtin:2000", DataSource("builtin", samples=2000)),
    ("folder:imgs:32x24", DataSource("folder", "imgs", size=(32, 24))),
    ("csv:iris.csv:species", DataSource("csv", "iris.csv", target="species")),
    ("data/x.npz", DataSource("tensor", "data/x.npz")),
    ("data/x.h5?x=images&y=labels", DataSource("tensor", "data/x.h5", x_name="images", y_name="labels")),
    ("sequences:500", DataSource("sequences", samples=500)),
    ("csv:prices.csv?target=close&window=30&horizon=5",
     DataSource("csv", "prices.csv", target="close", window=30, horizon=5)),
    ("MNIST:data?download=1", DataSource("MNIST", "data", download=True)),
    ("folder:my%20pics?channels=1&size=28x28", DataSource("folder", "my pics", size=(28, 28), channels=1)),
])
def test_short_and_long_forms_read(spec, expected):
    assert DataSource.from_spec(spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("", "names no dataset"),
    ("pictures", "names no dataset"),
    ("folder:", "give the path"),
    ("builtin:many", "sample count must be a whole number"),
    ("folder:x?target=y", "folder takes no option 'target'"),
    ("folder:x?channels=2", "channels must be 1 or 3"),
    ("folder:x?size=big", "size='big' is not a valid value"),
    ("csv:x.csv", "name the target column"),
    ("csv:x.csv?target=y&task=ranking", "task must be one of"),
    ("csv:x.csv?target=y&tokens=bytes", "tokens must be one of"),
    ("csv:x.csv?target=y&window=5&input=text", r"a time series \(window\) or text \(input\), not both"),
    ("x.npy?layout=hwc", "layout must be one of"),
    ("sequences:0", "sample count must be a whole number"),
])
def test_bad_specs_say_what_to_write(spec, message):
    with pytest.raises(DatasetError, match=message):
        DataSource.from_spec(spec)


def test_options_of_another_kind_are_refused():
    with pytest.raises(DatasetError, match="a csv source takes no option 'channels'"):
        DataSource("csv", "t.csv", target="y", channels=1)


def _written_sources(tmp_path):
    """One source of every kind, on files written in the real on-disk formats."""
    write_mnist(tmp_path / "mnist")
    write_cifar10(tmp_path / "cifar")
    write_cifar100(tmp_path / "cifar100")
    for name in TORCHVISION_KINDS:
        if name not in ("MNIST", "CIFAR10", "CIFAR100"):
            write_mnist(tmp_path / name.lower(), name=name)
    npz, pt = write_tensor_files(tmp_path)
    table = write_csv(tmp_path / "table.csv")
    return [
        DataSource("builtin", samples=300),
        DataSource("MNIST", str(tmp_path / "mnist")),
        DataSource("CIFAR10", str(tmp_path / "cifar")),
        DataSource("CIFAR100", str(tmp_path / "cifar100")),
        *[DataSource(name, str(tmp_path / name.lower())) for name in TORCHVISION_KINDS
          if name not in ("MNIST", "CIFAR10", "CIFAR100")],
        DataSource("folder", str(write_image_folder(tmp_path / "rgb", size=(12, 10))), size=(16, 16)),
        DataSource("folder", str(write_image_folder(tmp_path / "gray", size=(12, 10), mode="L"))),
        DataSource("csv", str(table), target="label"),
        DataSource("csv", str(table), target="weight", task="regression"),
        DataSource("tensor", str(npz)),
        DataSource("tensor", str(pt)),
    ]


def test_loading_twice_and_reloading_the_origin_give_the_same_data(tmp_path):
    for source in _written_sources(tmp_path):
        first, second = source.load(train=True), source.load(train=True)
        reloaded = DataSource.from_spec(first.origin.to_spec()).load(train=True)
        for other in (second, reloaded):
            assert other.sample_shape == first.sample_shape, source
            assert other.classes == first.classes and other.is_classification == first.is_classification, source
            assert len(other) == len(first), source


def test_origin_records_the_automatic_choices(tmp_path):
    gray = write_image_folder(tmp_path / "gray", mode="L")
    dataset = DataSource("folder", str(gray)).load()
    assert dataset.sample_shape[0] == 1 and dataset.origin == DataSource("folder", str(gray), channels=1)
    rgb_as_gray = DataSource("folder", str(write_image_folder(tmp_path / "rgb")), channels=1).load()
    assert rgb_as_gray.sample_shape[0] == 1
    table = DataSource("csv", str(write_csv(tmp_path / "t.csv")), target="label").load()
    assert table.origin.task == "classification" and table.origin.to_spec().endswith("task=classification")


def test_load_spec_turns_on_download_for_torchvision_only(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(DataSource, "load", lambda self, train=True: seen.append(self))
    load_spec(f"MNIST:{tmp_path}", download=True)
    load_spec("builtin:10", download=True)
    assert seen == [DataSource("MNIST", str(tmp_path), download=True), DataSource("builtin", samples=10)]
    assert dataclasses.replace(seen[0], download=False).to_spec() == f"MNIST:{tmp_path}"
