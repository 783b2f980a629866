"""The gallery page: one self-contained HTML file (inline CSS, relative image links, no scripts).

The layout is responsive: an image never overflows the screen (it shrinks, keeping its aspect ratio
and nearest-neighbour rendering), pairs meant to be compared (generated | real) sit side by side on a
laptop screen, and everything stacks on a phone.
"""

from __future__ import annotations

from html import escape

from kgan.gallery.sections import Group, Image, LabeledRows, Section, Table, Text

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1600px; padding: 1em; color: #222; background: #fafafa; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
nav a { margin-right: 1em; }
.meta td { padding: 0 1em 0 0; overflow-wrap: anywhere; }
.intro { color: #444; max-width: 60em; }
.note { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.4em 0.8em;
        max-width: 60em; }
.warnings { background: #fde8e8; border-left: 4px solid #c62828; padding: 0.4em 0.8em;
            max-width: 60em; }
.warnings ul { margin: 0.3em 0; padding-left: 1.2em; }
.group { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
.group.cols { display: grid; grid-template-columns: repeat(var(--cols), minmax(0, max-content)); gap: 1em; }
figure { margin: 0.5em 0; width: fit-content; max-width: 100%; }
img { max-width: 100%; height: auto; }
.scroll { max-width: 100%; overflow-x: auto; }
.rows { display: grid; grid-template-columns: max-content minmax(0, max-content); gap: 2px 0.8em;
        align-items: center; }
.rows .label { font-family: monospace; text-align: right; }
.rows .head { font-weight: bold; }
@media (max-width: 760px) {
  body { padding: 0.5em; }
  .group.cols { grid-template-columns: minmax(0, 1fr); }
}
figcaption { font-size: 0.9em; color: #555; text-align: center; margin-top: 0.3em; }
img.px { image-rendering: crisp-edges; image-rendering: pixelated; background: #000; }
table.data { border-collapse: collapse; margin: 0.5em 0; }
table.data th, table.data td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
table.data th { background: #eee; }
table.data td:first-child { text-align: left; }
caption { caption-side: bottom; font-size: 0.85em; color: #555; padding-top: 0.3em; }
footer { margin-top: 3em; font-size: 0.8em; color: #777; }
"""


def _img(img: Image) -> str:
    cls = "" if img.src.startswith(("history_", "metric_")) else ' class="px"'
    return (f'<figure><img{cls} src="{escape(img.src)}" width="{img.width}" height="{img.height}" '
            f'alt="{escape(img.alt)}"><figcaption>{escape(img.caption)}</figcaption></figure>')


def _item(item) -> str:
    if isinstance(item, Image):
        return _img(item)
    if isinstance(item, Group):
        cols = f' cols" style="--cols: {item.columns}' if item.columns else ""
        return f'<div class="group{cols}">' + "".join(_item(i) for i in item.items) + "</div>"
    if isinstance(item, Text):
        return f"<p>{escape(item.text)}</p>"
    if isinstance(item, LabeledRows):
        head = "".join(f'<div class="head">{escape(h)}</div>' for h in item.header)
        rows = "".join(
            f'<div class="label">{escape(label)}</div><img class="px" src="{escape(img.src)}" '
            f'width="{img.width}" height="{img.height}" alt="{escape(img.alt)}">'
            for label, img in item.rows)
        return f'<div class="rows">{head}{rows}</div>'
    if isinstance(item, Table):
        head = "".join(f"<th>{escape(str(h))}</th>" for h in item.headers)
        body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>"
                       for row in item.rows)
        cap = f"<caption>{escape(item.caption)}</caption>" if item.caption else ""
        return f'<div class="scroll"><table class="data">{cap}<tr>{head}</tr>{body}</table></div>'
    raise TypeError(f"unknown gallery item {item!r}")


def section_html(sec: Section) -> str:
    parts = [f'<section id="{escape(sec.id)}">', f"<h2>{escape(sec.title)}</h2>"]
    if sec.intro:
        parts.append(f'<p class="intro">{escape(sec.intro)}</p>')
    parts += [f'<p class="note">{escape(n)}</p>' for n in sec.notes]
    parts += [_item(i) for i in sec.items]
    parts.append("</section>")
    return "\n".join(parts)


def page(title: str, meta: list[tuple[str, str]], sections: list[Section], footer: str = "",
         warnings: list[str] = ()) -> str:
    """`warnings` (training trouble a reader must not miss) go in a box above everything else."""
    box = ('<div class="warnings" role="alert"><b>Training warnings (logs/events.log)</b><ul>'
           + "".join(f"<li>{escape(w)}</li>" for w in warnings) + "</ul></div>") if warnings else ""
    nav = " ".join(f'<a href="#{escape(s.id)}">{escape(s.title)}</a>' for s in sections)
    meta_rows = "".join(f"<tr><td><b>{escape(k)}</b></td><td>{escape(str(v))}</td></tr>"
                        for k, v in meta)
    body = "\n".join(section_html(s) for s in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<h1>{escape(title)}</h1>
{box}
<table class="meta">{meta_rows}</table>
<nav>{nav}</nav>
{body}
<footer>{escape(footer)}</footer>
</body>
</html>
"""
