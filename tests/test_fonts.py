"""The sketchbook's letter fonts: all installed, named in full, and a clear error when not."""

from __future__ import annotations

from pathlib import Path

import pytest

from sketchbook.fonts import PACKAGES, SANS, SERIF_AND_MONO, font_files


@pytest.mark.parametrize("fonts", [SERIF_AND_MONO, SANS], ids=["serif and mono", "sans"])
def test_every_named_font_is_installed_so_the_figures_reproduce(fonts: tuple[Path, ...]) -> None:
    found = font_files(fonts)
    assert found == sorted(str(path) for path in fonts)
    assert all(Path(path).stat().st_size > 0 for path in found)


def test_the_unseen_serif_letters_share_no_font_with_the_detectors_letters() -> None:
    assert not set(SERIF_AND_MONO) & set(SANS)
    assert all("Sans" in path.name for path in SANS)
    assert not any("Sans" in path.name for path in SERIF_AND_MONO)


def test_a_missing_font_names_the_file_and_the_packages_to_install(tmp_path: Path) -> None:
    absent = tmp_path / "NoSuchSerif-Regular.ttf"
    with pytest.raises(FileNotFoundError, match=r"NoSuchSerif-Regular\.ttf") as raised:
        font_files((*SERIF_AND_MONO, absent))
    assert all(package in str(raised.value) for package in PACKAGES)
    assert "scripts/test.sh" in str(raised.value)
