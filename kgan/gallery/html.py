"""The gallery page: one self-contained HTML file (inline CSS, relative image links, no scripts)."""

from __future__ import annotations

from html import escape

from kgan.gallery.sections import Group, Image, LabeledRows, Section, Table, Text

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1600px; padding: 1em 2em; color: #222; background: #fafafa; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
nav a { margin-right: 1em; }
.meta td { padding: 0 1em 0 0; }
.intro { color: #444; max-width: 60em; }
.note { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.4em 0.8em;
        max-width: 60em; }
.group { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
figure { margin: 0.5em 0; width: fit-content; }
figcaption { font-size: 0.9em; color: #555; text-align: center; margin-top: 0.3em; }
img.px { image-rendering: pixelated; image-rendering: crisp-edges; background: #000; }
table.data { border-collapse: collapse; margin: 0.5em 0; }
table.data th, table.data td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
table.data th { background: #eee; }
table.data td:first-child { text-align: left; }
table.rows td { padding: 2px 0.8em 2px 0; vertical-align: middle; }
table.rows td.label { font-family: monospace; text-align: right; }
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
        return '<div class="group">' + "".join(_item(i) for i in item.items) + "</div>"
    if isinstance(item, Text):
        return f"<p>{escape(item.text)}</p>"
    if isinstance(item, LabeledRows):
        head = "".join(f"<th>{escape(h)}</th>" for h in item.header)
        rows = "".join(
            f'<tr><td class="label">{escape(label)}</td><td><img class="px" src="{escape(img.src)}" '
            f'width="{img.width}" height="{img.height}" alt="{escape(img.alt)}"></td></tr>'
            for label, img in item.rows)
        return f'<table class="rows"><tr>{head}</tr>{rows}</table>'
    if isinstance(item, Table):
        head = "".join(f"<th>{escape(str(h))}</th>" for h in item.headers)
        body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>"
                       for row in item.rows)
        cap = f"<caption>{escape(item.caption)}</caption>" if item.caption else ""
        return f'<table class="data">{cap}<tr>{head}</tr>{body}</table>'
    raise TypeError(f"unknown gallery item {item!r}")


def section_html(sec: Section) -> str:
    parts = [f'<section id="{escape(sec.id)}">', f"<h2>{escape(sec.title)}</h2>"]
    if sec.intro:
        parts.append(f'<p class="intro">{escape(sec.intro)}</p>')
    parts += [f'<p class="note">{escape(n)}</p>' for n in sec.notes]
    parts += [_item(i) for i in sec.items]
    parts.append("</section>")
    return "\n".join(parts)


def page(title: str, meta: list[tuple[str, str]], sections: list[Section], footer: str = "") -> str:
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
<table class="meta">{meta_rows}</table>
<nav>{nav}</nav>
{body}
<footer>{escape(footer)}</footer>
</body>
</html>
"""
