"""A tiny document model rendered twice: Markdown (images beside it as files) and one
self-contained HTML page (images embedded as data: URIs), so both say exactly the same."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Block:
    kind: str  # "p" | "table" | "img" | "pre" | "list"
    text: str = ""
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    path: Path | None = None


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def p(self, text: str) -> Section:
        self.blocks.append(Block("p", text=text))
        return self

    def table(self, headers: list[str], rows: list[list[str]]) -> Section:
        self.blocks.append(Block("table", headers=headers, rows=rows))
        return self

    def img(self, path: Path, alt: str) -> Section:
        self.blocks.append(Block("img", text=alt, path=path))
        return self

    def pre(self, text: str) -> Section:
        self.blocks.append(Block("pre", text=text))
        return self

    def bullets(self, items: list[str]) -> Section:
        self.blocks.append(Block("list", items=items))
        return self


def _md_text(text: str) -> str:
    """Text as Markdown shows it and never as markup: a build's name is the user's, and a
    Markdown viewer renders raw HTML (<, > and & become entities, as report.html escapes them)."""
    return html.escape(str(text), quote=False)


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|").replace("\n", " ")


def _md_alt(text: str) -> str:
    return _md_text(text).replace("[", "\\[").replace("]", "\\]").replace("\n", " ")


def to_markdown(title: str, sections: list[Section], base: Path) -> str:
    out = [f"# {_md_text(title)}", ""]
    for s in sections:
        out += [f"## {_md_text(s.title)}", ""]
        for b in s.blocks:
            if b.kind == "p":
                out += [_md_text(b.text), ""]
            elif b.kind == "table":
                out.append("| " + " | ".join(_md_cell(h) for h in b.headers) + " |")
                out.append("|" + "|".join(" --- " for _ in b.headers) + "|")
                out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
                out.append("")
            elif b.kind == "img" and b.path is not None:
                out += [f"![{_md_alt(b.text)}]({b.path.relative_to(base).as_posix()})", ""]
            elif b.kind == "pre":
                out += ["```", b.text, "```", ""]
            elif b.kind == "list":
                out += [f"- {_md_text(i)}" for i in b.items] + [""]
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;
color:#222}table{border-collapse:collapse;font-size:13px;margin:1em 0}th,td{border:1px solid #ccc;
padding:3px 7px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:
left}img{max-width:100%;border:1px solid #ddd;margin:.5em 0}pre{background:#f6f6f6;padding:.7em;
font-size:12px;overflow-x:auto}h2{border-bottom:1px solid #ddd;padding-bottom:.2em}
figure{margin:1em 0}figcaption{font-size:14px;color:#444}"""
# figures use the whole column (no default 40-px figure margins), so the PNGs, 1152 px wide, show
# unscaled in a 1280-px window and their fonts keep their size (bench/plots.py)


def _inline(text: str) -> str:
    """Escape, then render Markdown's **bold**, the one inline mark the report uses."""
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def to_html(title: str, sections: list[Section]) -> str:
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    for s in sections:
        out.append(f"<h2>{e(s.title)}</h2>")
        for b in s.blocks:
            if b.kind == "p":
                out.append(f"<p>{_inline(b.text)}</p>")
            elif b.kind == "table":
                out.append(
                    "<table><thead><tr>"
                    + "".join(f"<th>{e(h)}</th>" for h in b.headers)
                    + "</tr></thead><tbody>"
                )
                out += [
                    "<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>"
                    for row in b.rows
                ]
                out.append("</tbody></table>")
            elif b.kind == "img" and b.path is not None:
                out.append(
                    f'<figure><img src="{_data_uri(b.path)}" alt="{e(b.text)}">'
                    f"<figcaption>{e(b.text)}</figcaption></figure>"
                )
            elif b.kind == "pre":
                out.append(f"<pre>{e(b.text)}</pre>")
            elif b.kind == "list":
                out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out)
