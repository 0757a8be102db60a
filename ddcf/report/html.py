"""The report as one static page (index.html: <img> tags to the PNGs beside it, tables inline, no script, no
network) and the same content as report.md."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

from ddcf.hub.cards import _fmt as fmt_value

STYLE = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 7px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img{max-width:100%;
border:1px solid #eee}figcaption,.note{color:#555;font-size:13px}"""


@dataclass
class Section:
    title: str
    text: str = ""
    image: str | None = None  # file name of a PNG beside index.html
    caption: str = ""
    tables: list[pd.DataFrame] = field(default_factory=list)


def _cell(v) -> str:
    return fmt_value(v, 3)  # the Hub cards' number format: n/a, 3 decimals, thousands separators


def _html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
                   for row in df.astype(object).itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _md_table(df: pd.DataFrame) -> str:
    esc = [str(c).replace("|", "\\|") for c in df.columns]
    lines = ["| " + " | ".join(esc) + " |", "|" + "---|" * len(esc)]
    for row in df.astype(object).itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


def render_html(title: str, intro: str, sections: list[Section]) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", f'<p class="note">{html.escape(intro)}</p>']
    for s in sections:
        parts.append(f"<section><h2>{html.escape(s.title)}</h2>")
        if s.text:
            parts.append(f"<p>{html.escape(s.text)}</p>")
        if s.image:
            parts.append(f'<figure><img src="{html.escape(s.image)}" alt="{html.escape(s.title)}">'
                         f"<figcaption>{html.escape(s.caption)}</figcaption></figure>")
        parts.extend(_html_table(t) for t in s.tables)
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_markdown(title: str, intro: str, sections: list[Section]) -> str:
    parts = [f"# {title}", "", intro, ""]
    for s in sections:
        parts += [f"## {s.title}", ""]
        if s.text:
            parts += [s.text, ""]
        if s.image:
            parts += [f"![{s.title}]({s.image})", "", f"*{s.caption}*", ""]
        for t in s.tables:
            parts += [_md_table(t), ""]
    return "\n".join(parts)
