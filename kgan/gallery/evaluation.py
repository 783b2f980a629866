"""The evaluation section: metrics reports as tables beside their reference points, and metric history.

Headline numbers and which way is better come from `kgan.metrics.report` (the rows `kgan evaluate`
prints), so a metric added to the registry shows up here with its direction and no change here.
`metrics_table` takes several reports, which is how the comparison page puts runs side by side. A report
with FID and PSNR also gets its perception-distortion plot (`kgan.gallery.perception_distortion`).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from kgan.gallery import perception_distortion
from kgan.gallery.sections import Group, Section, Table, Text
from kgan.metrics.history import read_history
from kgan.metrics.report import better, format_value, headline_rows, point_order

def metrics_table(columns: list[tuple[str, dict]]) -> Table:
    """Rows: every headline number of the reports' metrics; columns: which way is better, one per
    (header, report), then the reference points of the first report."""
    reports = [r for _, r in columns]
    points = reports[0].get("reference_points") or {}
    refs = point_order(points)
    results = [r.get("metrics") or {} for r in reports] + [points[k].get("metrics") or {} for k in refs]
    rows = []
    for metric in dict.fromkeys(m for r in reports for m in (r.get("metrics") or {})):
        cells = [{label: (d, v) for label, d, v in headline_rows(metric, res[metric])} if metric in res else {}
                 for res in results]
        for label in dict.fromkeys(label for c in cells[:len(reports)] for label in c):
            direction = next(c[label][0] for c in cells if label in c)
            rows.append([label, better(direction), *[format_value(c.get(label, ("", None))[1]) for c in cells]])
    headers = ["metric", "better", *[h for h, _ in columns], *[k.replace("_", " ") for k in refs]]
    return Table(headers, rows)


def describe(report: dict) -> str:
    """What a report's numbers were measured with: extractor, resize, sample and reference counts."""
    ex = report.get("extractor") or {}
    return (f"extractor: {ex.get('name', '?')}, resize: {report.get('resize', '?')}, "
            f"samples: {report.get('num_samples', '?')}, reference: "
            f"{report.get('num_reference', '?')} ({report.get('reference', '?')})")


def find_report(src, report_path: Path | None = None) -> tuple[dict | None, Path | None, str]:
    """(report, its path, note): `report_path`, else report.json in or beside the source. The note says what
    is missing or unreadable."""
    candidates = [report_path] if report_path else [src.path / "report.json", src.path.parent / "report.json"]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        if report_path:
            return None, None, f"Missing: metrics report {report_path} does not exist."
        return None, None, "Missing: no metrics report (report.json)."
    try:
        report = json.loads(found.read_text())
        if not isinstance(report, dict):
            raise TypeError("not a JSON object")
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as e:
        return None, found, f"Unreadable metrics report {found}: {e}"
    return report, found, ""


def not_shown(src, report_path: Path | None = None) -> dict[str, str]:
    """The evaluation section's parts a report cannot give: {part: one-line reason} (the page's "not shown")."""
    reason = perception_distortion.missing(find_report(src, report_path)[0])
    return {"perception_distortion": reason} if reason else {}


def evaluate_command(src, data: str | None, classifier: str | Path | None) -> str:
    """The command line that writes the report.json this source's gallery reads; without a known classifier,
    `kgan classifier` first trains (or finds) the one `--features classifier` then uses."""
    data = data or "DATA"
    features = f"classifier:{classifier}" if classifier else "classifier"
    evaluate = shlex.join(["kgan", "evaluate", str(src.path), "--data", data, "--features", features,
                           "--out", str(src.path / "report.json")])
    return evaluate if classifier else f"{shlex.join(['kgan', 'classifier', data])} && {evaluate}"


def history_reports(src) -> Path:
    return src.layout.reports if src.kind == "run" else src.path / "reports"


def evaluation_section(src, writer, out_dir: Path, report_path: Path | None, command: str) -> Section:
    sec = Section("evaluation", "Evaluation",
                  "Metric values next to the reference points: real-vs-real (two halves of "
                  "the real data: the best one can hope for), the per-pixel Gaussian (a "
                  "trivially bad model) and, for image-to-image models, their input scored as the output "
                  "(identity) and the classical inverse of the data's degradation (bicubic upsampling, "
                  "Wiener deconvolution with the true kernel), which a restoration model should beat. "
                  "\"better\" says which way is better.")
    report, found, note = find_report(src, report_path)
    if report is not None:
        table = metrics_table([("samples", report)])
        table.caption = f"{found.name}: {describe(report)}"
        sec.items.append(table)
        if not perception_distortion.missing(report):
            path = out_dir / "perception_distortion.png"
            perception_distortion.plot(report, path, label="samples")
            sec.items.append(Text("Perception (FID) against distortion (PSNR) of every column above:"))
            sec.items.append(Group([writer.plot(path, "perception-distortion trade-off")]))
    elif found is None and not report_path:
        sec.notes.append(f"{note} Make one with: {command}")
    else:
        sec.notes.append(note)
    history = read_history(history_reports(src))
    if any(len(v) >= 2 for v in history.values()):
        from kgan.gallery.plots import line_plot

        images = []
        for i, (label, pts) in enumerate(sorted(history.items())):
            p = line_plot(out_dir / f"metric_{i:02d}.png", {label: ([s for s, _ in pts], [v for _, v in pts])},
                          f"{label} vs step")
            images.append(writer.plot(p, label))
        sec.items.append(Text("Metric history (RUN/reports/*.json):"))
        sec.items.append(Group(images))
    else:
        sec.notes.append("No metric history: fewer than two per-step reports in RUN/reports/.")
    return sec
