"""The package builds with colcon into the layout a ROS 2 user gets, and its metadata agrees."""

import configparser
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "ros2_vid2world"
# What a checkout of the package holds, without the venv or any build output.
PACKAGE_SOURCES = (
    "package.xml", "setup.py", "setup.cfg", "resource", PACKAGE, "launch", "config", "models", "recipes"
)
# Folders whose every file must end up under share/<package>/.
SHARED_FOLDERS = ("launch", "config", "models", "recipes")
COLCON_TIMEOUT_S = 300
SKIP_NAMES = ("__pycache__", "*.pyc")


def _source_files(folder: Path) -> list[Path]:
    """Files below `folder`, relative to the repo root, without bytecode caches."""
    if not folder.is_dir():
        return []
    return sorted(
        path.relative_to(REPO)
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


@pytest.fixture(scope="module")
def colcon_install(tmp_path_factory) -> Path:
    """Build a copy of the package in a fresh colcon workspace; return install/<package>."""
    colcon = Path(sys.executable).parent / "colcon"
    if not colcon.exists():
        pytest.skip(f"colcon is not installed next to {sys.executable}: install colcon-common-extensions")

    workspace = tmp_path_factory.mktemp("colcon_ws")
    package_dir = workspace / "src" / PACKAGE
    package_dir.mkdir(parents=True)
    for name in PACKAGE_SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, package_dir / name, ignore=shutil.ignore_patterns(*SKIP_NAMES))
        elif source.is_file():
            shutil.copy2(source, package_dir / name)

    # Keep the user's colcon defaults (e.g. --symlink-install) out of the build.
    env = dict(os.environ, COLCON_HOME=str(workspace / ".colcon_home"))
    result = subprocess.run(
        [str(colcon), "build", "--base-paths", "src", "--event-handlers", "console_direct-"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=COLCON_TIMEOUT_S,
    )
    assert result.returncode == 0, f"colcon build failed:\n{result.stdout}\n{result.stderr}"
    return workspace / "install" / PACKAGE


def test_colcon_installs_package_manifest_and_ament_index_marker(colcon_install):
    assert (colcon_install / "share" / PACKAGE / "package.xml").is_file()
    marker = colcon_install / "share" / "ament_index" / "resource_index" / "packages" / PACKAGE
    assert marker.is_file(), "without the ament index marker `ros2 run` cannot find the package"


def test_colcon_installs_console_script_where_ros2_run_looks(colcon_install):
    script = colcon_install / "lib" / PACKAGE / "vid2world"
    assert script.is_file(), f"missing {script}; check setup.cfg install_scripts"
    assert os.access(script, os.X_OK)
    assert "vid2world" in script.read_text()


def test_colcon_installs_every_launch_config_and_model_file(colcon_install):
    share = colcon_install / "share" / PACKAGE
    expected = [path for folder in SHARED_FOLDERS for path in _source_files(REPO / folder)]
    missing = [str(path) for path in expected if not (share / path).is_file()]
    assert not missing, (
        f"not installed under share/{PACKAGE}: {missing}; setup.py installs launch/*launch.py, "
        "config/*.yaml and everything below models/ and recipes/"
    )


def test_colcon_installs_every_python_module(colcon_install):
    site_packages = sorted(colcon_install.glob("lib/python3*/site-packages"))
    assert len(site_packages) == 1, f"expected one site-packages folder, found {site_packages}"
    installed = site_packages[0]
    assert (installed / PACKAGE / "__init__.py").is_file()
    # find_packages() drops folders without __init__.py; a ROS install would then lack them.
    sources = [path for path in _source_files(REPO / PACKAGE) if path.suffix == ".py"]
    missing = [str(path) for path in sources if not (installed / path).is_file()]
    assert not missing, f"Python files not installed (missing __init__.py in their folder?): {missing}"


def test_installed_package_imports_from_the_install_space(colcon_install):
    (site_packages,) = colcon_install.glob("lib/python3*/site-packages")
    env = dict(os.environ, PYTHONPATH=str(site_packages))
    # cwd outside the repo: `python -c` puts the cwd first on sys.path.
    result = subprocess.run(
        [sys.executable, "-c", f"import {PACKAGE}; print({PACKAGE}.__file__)"],
        cwd=colcon_install,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    imported_from = Path(result.stdout.strip().splitlines()[-1]).resolve()
    assert imported_from.is_relative_to(site_packages.resolve())


def _package_xml() -> ET.Element:
    return ET.parse(REPO / "package.xml").getroot()


def _setup_py_version() -> str:
    match = re.search(r"""\bversion\s*=\s*["']([^"']+)["']""", (REPO / "setup.py").read_text())
    assert match, "setup.py must set version='X.Y.Z' literally, so that it can be compared"
    return match.group(1)


def test_package_xml_is_format_3_ament_python():
    root = _package_xml()
    assert root.tag == "package"
    assert root.get("format") == "3"
    assert root.findtext("name") == PACKAGE
    assert root.findtext("export/build_type") == "ament_python"


def test_versions_agree_across_package_xml_setup_py_and_module():
    xml_version = _package_xml().findtext("version")
    init_text = (REPO / PACKAGE / "__init__.py").read_text()
    init_version = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", init_text, re.MULTILINE)
    assert init_version, f"{PACKAGE}/__init__.py must define __version__"
    assert _setup_py_version() == xml_version == init_version.group(1)


def test_package_xml_passes_catkin_pkg_validation():
    package_module = pytest.importorskip("catkin_pkg.package")
    package = package_module.parse_package(str(REPO / "package.xml"))
    package.validate()
    assert package.package_format == 3
    assert [license_ for license_ in package.licenses] == ["Apache-2.0"]


def test_setup_cfg_sends_scripts_to_lib_package():
    config = configparser.ConfigParser(interpolation=None)
    config.read(REPO / "setup.cfg")
    assert config.get("develop", "script_dir") == f"$base/lib/{PACKAGE}"
    assert config.get("install", "install_scripts") == f"$base/lib/{PACKAGE}"
