"""The CJK fonts reports are drawn with: found on this machine, never downloaded.

Looked for in order: ``$LANDRENEW_CJK_FONT`` (a font file for every style), fontconfig
(``fc-match``), then the usual files of Debian's ``fonts-noto-cjk``, Windows and macOS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ENV_FONT = "LANDRENEW_CJK_FONT"

#: (style, fontconfig pattern, file candidates) — a ``.ttc`` path may carry ``:index``
_WANTED = {
    "serif": ("Noto Serif CJK SC", ["/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc:2",
                                    "C:/Windows/Fonts/simsun.ttc:0", "/System/Library/Fonts/Supplemental/Songti.ttc:0"]),
    "serif_bold": ("Noto Serif CJK SC:bold", ["/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc:2",
                                              "C:/Windows/Fonts/simhei.ttf:0"]),
    "sans": ("Noto Sans CJK SC", ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc:2",
                                  "C:/Windows/Fonts/msyh.ttc:0", "/System/Library/Fonts/PingFang.ttc:0"]),
    "sans_bold": ("Noto Sans CJK SC:bold", ["/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc:2",
                                            "C:/Windows/Fonts/msyhbd.ttc:0", "C:/Windows/Fonts/simhei.ttf:0"]),
}


class FontMissing(RuntimeError):
    """No CJK font on this machine: reports cannot draw Chinese."""

    def __init__(self) -> None:
        self.zh = f"找不到中文字体：请安装 fonts-noto-cjk（apt-get install fonts-noto-cjk）或设置环境变量 {ENV_FONT}=字体文件"
        self.en = f"no CJK font found: install fonts-noto-cjk or set {ENV_FONT} to a font file (.ttf/.otf/.ttc)"
        super().__init__(f"{self.zh} / {self.en}")


@dataclass(frozen=True)
class FontFile:
    """A font file and the face inside it (a collection ``.ttc`` holds several)."""

    path: Path
    index: int = 0


@dataclass(frozen=True)
class CjkFonts:
    """Serif (body text) and sans (headings, labels) faces, regular and bold."""

    serif: FontFile
    serif_bold: FontFile
    sans: FontFile
    sans_bold: FontFile


def _parse(spec: str) -> FontFile:
    path, sep, index = spec.rpartition(":")
    if sep and index.isdigit() and path and not path.endswith(":"):
        return FontFile(Path(path), int(index))
    return FontFile(Path(spec))


def _fontconfig(pattern: str) -> FontFile | None:
    """The file fontconfig picks for ``pattern``, if it covers Chinese (its family says CJK/SC/Hei/Song)."""
    if shutil.which("fc-match") is None:
        return None
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}\t%{index}\t%{lang}", f"{pattern}:lang=zh-cn"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, _, rest = out.partition("\t")
    index, _, langs = rest.partition("\t")
    if not path or "zh-cn" not in langs.split("|"):
        return None
    return FontFile(Path(path), int(index or 0))


@cache
def cjk_fonts() -> CjkFonts:
    """The four faces; :class:`FontMissing` when this machine has no CJK font at all."""
    forced = os.environ.get(ENV_FONT)
    if forced:
        f = _parse(forced)
        if not f.path.is_file():
            raise FontMissing()
        return CjkFonts(f, f, f, f)
    found: dict[str, FontFile] = {}
    for style, (pattern, files) in _WANTED.items():
        for f in (_fontconfig(pattern), *map(_parse, files)):
            if f is not None and f.path.is_file():
                found[style] = f
                break
    if not found:
        raise FontMissing()
    regular = found.get("serif") or found.get("sans")
    sans = found.get("sans") or regular
    return CjkFonts(regular, found.get("serif_bold") or regular, sans, found.get("sans_bold") or sans)
