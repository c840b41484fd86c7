"""The system fonts the sketchbook renders letters with, named in full so that figures reproduce.

Letters drawn from fonts are non-digits twice over: the detector trains on letters in the sans
fonts (``scripts/train_digit_check.py``), and serif and monospaced letters are a kind it never
sees (``sketchbook.unseen_kinds``). Which fonts a glob finds depends on the machine: Debian's
Chromium only *recommends* ``fonts-liberation``, so a machine that installed Chromium has the
Liberation fonts and one that did not draws its serif letters from DejaVu alone. Both ran
without complaint, and the unseen serif letters' refusal rate read 83% on one and 86% on the
other for the same check. So every font file is named here, and a missing one is an error that
says which Debian packages hold them; ``scripts/test.sh`` installs them.
"""

from __future__ import annotations

from pathlib import Path

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
LIBERATION = Path("/usr/share/fonts/truetype/liberation")
PACKAGES = ("fonts-dejavu-core", "fonts-dejavu-extra", "fonts-liberation")

_STYLES = ("Regular", "Bold", "Italic", "BoldItalic")
_DEJAVU_SERIF = ("", "-Bold", "-Italic", "-BoldItalic")
_DEJAVU_SANS = ("", "-Bold", "-Oblique", "-BoldOblique")

# The unseen kind's letters: serif and monospaced faces the detector never trains on.
SERIF_AND_MONO = (
    *(LIBERATION / f"LiberationSerif-{style}.ttf" for style in _STYLES),
    *(LIBERATION / f"LiberationMono-{style}.ttf" for style in _STYLES),
    *(DEJAVU / f"DejaVuSerif{style}.ttf" for style in _DEJAVU_SERIF),
    *(DEJAVU / f"DejaVuSerifCondensed{style}.ttf" for style in _DEJAVU_SERIF),
)
# The detector's font letters: every face with "Sans" in its name (DejaVu's mono included).
SANS = (
    *(DEJAVU / f"DejaVuSans{style}.ttf" for style in (*_DEJAVU_SANS, "-ExtraLight")),
    *(DEJAVU / f"DejaVuSansCondensed{style}.ttf" for style in _DEJAVU_SANS),
    *(DEJAVU / f"DejaVuSansMono{style}.ttf" for style in _DEJAVU_SANS),
    *(LIBERATION / f"LiberationSans-{style}.ttf" for style in _STYLES),
    *(LIBERATION / f"LiberationSansNarrow-{style}.ttf" for style in _STYLES),
)


def font_files(fonts: tuple[Path, ...]) -> list[str]:
    """The fonts' paths, sorted (the order the sketchbook's seeds pick from), all present.

    Raises FileNotFoundError naming the missing files and the packages to install.
    """
    missing = [path.name for path in fonts if not path.is_file()]
    if missing:
        raise FileNotFoundError(
            f"missing font files ({', '.join(missing)}): install Debian's "
            f"{', '.join(PACKAGES)} (bash scripts/test.sh does)"
        )
    return sorted(str(path) for path in fonts)
