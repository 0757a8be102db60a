"""The report as one static page (index.html: <img> tags to the PNGs beside it, tables inline, no script, no
network) and the same content as report.md."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

from ddcf.hub.cards import _fmt as fmt_value

# The page must fit a 1,400 px window: tables never wider than the text (long selection labels wrap in their
# column heads), images scaled down.
STYLE = """body{font-family:sans-serif;max-width:1300px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0;max-width:100%}td,th{border:1px solid #ccc;
padding:3px 7px;text-align:right}th{background:#f3f3f3;overflow-wrap:anywhere;vertical-align:bottom}
td:first-child,th:first-child{text-align:left}td.best{background:#e3f4e3;font-weight:bold}img{max-width:100%;
border:1px solid #eee}figcaption,.note{color:#555;font-size:13px}.verdict{background:#f5f8fc;
border-left:5px solid #1f77b4;padding:.6em 1em}.verdict li{margin:.3em 0}.flags{background:#fff6e5;
border-left:5px solid #e69500;padding:.6em 1em}.flags li{margin:.3em 0}"""


@dataclass
class Section:
    title: str
    text: str = ""
    image: str | None = None  # file name of a PNG beside index.html
    caption: str = ""
    tables: list = field(default_factory=list)  # DataFrames, or present.Marked (best cells marked)
    items: list[str] = field(default_factory=list)  # bullet points (the verdict, the flags)
    css_class: str = ""  # "verdict" or "flags": a highlighted box


def _cell(v) -> str:
    return fmt_value(v, 3)  # the Hub cards' number format: n/a, 3 decimals, thousands separators


def _parts(table) -> tuple[pd.DataFrame, set, str]:
    if isinstance(table, pd.DataFrame):
        return table, set(), ""
    return table.frame, table.best, table.legend


def _html_table(table) -> str:
    df, best, legend = _parts(table)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f'<td class="best">{html.escape(_cell(v))} ★</td>' if (r, c) in best
                         else f"<td>{html.escape(_cell(v))}</td>" for c, v in enumerate(row)) + "</tr>"
        for r, row in enumerate(df.astype(object).itertuples(index=False)))
    note = f'<p class="note">{html.escape(legend)}</p>' if legend else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def _md_table(table) -> str:
    df, best, legend = _parts(table)
    esc = [str(c).replace("|", "\\|") for c in df.columns]
    lines = ["| " + " | ".join(esc) + " |", "|" + "---|" * len(esc)]
    for r, row in enumerate(df.astype(object).itertuples(index=False)):
        cells = [_cell(v).replace("|", "\\|") for v in row]
        cells = [f"**{v}** ★" if (r, c) in best else v for c, v in enumerate(cells)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + (f"\n\n{legend}" if legend else "")


def render_html(title: str, intro: str, sections: list[Section]) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", f'<p class="note">{html.escape(intro)}</p>']
    for s in sections:
        cls = f' class="{html.escape(s.css_class)}"' if s.css_class else ""
        parts.append(f"<section{cls}><h2>{html.escape(s.title)}</h2>")
        if s.text:
            parts.append(f"<p>{html.escape(s.text)}</p>")
        if s.items:
            parts.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in s.items) + "</ul>")
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
        if s.items:
            parts += [f"- {i}" for i in s.items] + [""]
        if s.image:
            parts += [f"![{s.title}]({s.image})", "", f"*{s.caption}*", ""]
        for t in s.tables:
            parts += [_md_table(t), ""]
    return "\n".join(parts)
