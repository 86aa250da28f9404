"""The data folders are found from a checkout and from a normal (wheel) install alike."""
import subprocess
import sys
import zipfile

from pytorchgui import paths


def test_data_folders_are_found_in_the_checkout():
    assert (paths.function_db_dir() / "layers.json").is_file()
    assert (paths.ui_dir() / "main_window.ui").is_file()
    assert paths.app_icon_file().is_file()
    assert paths.example_networks_dir().is_dir()


def test_user_folders_follow_pytorchgui_home(user_home):
    assert paths.config_dir() == user_home / "config" and paths.config_dir().is_dir()
    assert paths.runs_dir().parent == paths.data_dir()
    assert paths.autosave_dir().is_dir() and paths.log_dir().is_dir()


def test_wheel_install_carries_and_finds_the_data(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), "."],
        check=True,
    )
    wheel = next(tmp_path.glob("pytorchgui-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for required in ("pytorchgui/function_db/layers.json", "pytorchgui/function_db/optimizers.json",
                     "pytorchgui/ui/main_window.ui", "pytorchgui/resources/networks/lenet5.json",
                     "pytorchgui/resources/icons/pytorchgui.svg"):
        assert required in names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
                   check=True)
    code = (
        f"import sys; sys.path.insert(0, {str(target)!r})\n"
        "from pytorchgui import paths\n"
        "from pytorchgui.core.graph.catalog import default_catalog\n"
        "print(paths.function_db_dir()); print(len(default_catalog().layers))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert out[0].startswith(str(target)) and int(out[1]) > 50
