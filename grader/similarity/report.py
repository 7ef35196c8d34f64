"""Write what ``grader similarity`` found: ``similarity.csv``, a page per pair and an index.

``<out>/similarity.csv``: ``student_a,student_b,score,file_similarity,shared_functions,evidence,page``,
most similar pair first, every pair that shares some rare material (at most ``MAX_ROWS``).
``<out>/similarity/index.html`` lists the reported pairs; ``<out>/similarity/<n>.html`` shows
pair ``n``'s two documents side by side, the passages they share rarely highlighted (copydetect's
slices), with the shared comments, strings, names and identical functions listed. All pages are
self-contained (no scripts, nothing fetched).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from copydetect.utils import highlight_overlap

from grader.grading.results import atomic_write, readable
from grader.reports.feedback import text
from grader.similarity.fingerprints import Document, feature_key
from grader.similarity.scoring import Pair, Scores

MAX_ROWS = 10_000
SHARED_FUNCTION = 0.5
"""a function counts as shared when its similarity is at least this"""
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:90rem;margin:2rem auto;padding:0 1rem;
 color:#1d1d1f;line-height:1.4}
h1{font-size:1.4rem} table{border-collapse:collapse} td,th{padding:.2rem .7rem;text-align:left;
 border-bottom:1px solid #eee;vertical-align:top} td.num{text-align:right}
.side{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1rem} pre{background:#f7f7f7;padding:.6rem;overflow-x:auto;
 font-size:.8rem;line-height:1.3} mark{background:#ffd86b} .muted{color:#777}
"""


def _head(title: str) -> str:
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{text(title)}</title><style>{STYLE}</style></head><body>")


def shared_functions(pair: Pair, names: tuple[str, ...]) -> list[str]:
    return [name for name, s in zip(names, pair.functions) if s >= SHARED_FUNCTION]


def evidence(scores: Scores, pair: Pair, documents: list[Document], limit: int = 5) -> list[str]:
    """The heaviest shared comments, strings, names and functions, as the first student wrote them,
    then how many pairs and triples of functions both wrote alike."""
    features, shown = documents[pair.a].features, documents[pair.a].shown
    keys = scores.shared(pair, documents)
    found = [shown[k] for k in keys if k in shown and features[k][0] != "combination"][:limit]
    alike = sum(features[k][0] == "combination" for k in keys)
    if alike:
        found.append(f"{alike} pairs and triples of functions written alike but for names")
    return found


def page_name(rank: int) -> str:
    return f"similarity/{rank}.html"


def write_csv(path: Path, scores: Scores, documents: list[Document], names: tuple[str, ...], pages: int) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student_a", "student_b", "score", "file_similarity", "shared_functions", "evidence", "page"])
    for rank, p in enumerate(scores.pairs[:MAX_ROWS], start=1):
        w.writerow([readable(documents[p.a].source.student), readable(documents[p.b].source.student),
                    f"{p.score:.4f}", f"{p.file:.4f}", " ".join(shared_functions(p, names)),
                    " | ".join(e.replace("\n", " ")[:80] for e in evidence(scores, p, documents, 3)),
                    page_name(rank) if rank <= pages else ""])
    atomic_write(path, buf.getvalue())


def _highlighted(scores: Scores, pair: Pair, documents: list[Document]) -> tuple[str, str]:
    """Both documents as HTML, the passages of their rarely shared fingerprints marked."""
    keep = set(scores.shared(pair, documents))
    out = []
    for d in (documents[pair.a], documents[pair.b]):
        fp = d.fingerprint
        slices = fp.slices(h for h in fp.hash_idx if feature_key("code", h) in keep)
        if slices.shape[1] == 0:
            out.append(text(fp.raw_code))
        else:
            out.append(readable(highlight_overlap(fp.raw_code, slices, "<mark>", "</mark>", escape_html=True)[0]))
    return out[0], out[1]


def write_page(path: Path, rank: int, scores: Scores, pair: Pair, documents: list[Document],
               names: tuple[str, ...]) -> None:
    a, b = documents[pair.a].source, documents[pair.b].source
    left, right = _highlighted(scores, pair, documents)
    rows = "".join(f"<tr><td><code>{text(n)}</code></td><td class='num'>{s:.2f}</td></tr>"
                   for n, s in zip(names, pair.functions))
    items = "".join(f"<li><code>{text(e)}</code></li>" for e in evidence(scores, pair, documents, 30))
    parts = [_head(f"#{rank}: {readable(a.student)} and {readable(b.student)}"),
             "<p><a href='index.html'>all pairs</a></p>",
             f"<h1>#{rank}: {text(a.student)} and {text(b.student)}</h1>",
             f"<p id='score' data-score='{pair.score:.4f}'>score {pair.score:.2f} "
             f"(whole file {pair.file:.2f}; shared functions: "
             f"{text(', '.join(shared_functions(pair, names)) or 'none')})</p>",
             "<p class='muted'>Highlighted: passages both wrote that few others in the class did. "
             "Material most of the class shares, and the released template, count for nothing.</p>",
             f"<table id='functions'><thead><tr><th>function</th><th>similarity</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>",
             f"<h2>Rare comments, strings, names and functions both have</h2><ul id='evidence'>"
             f"{items or '<li>none</li>'}</ul>",
             f"<div class='side'><div><h2>{text(a.student)}</h2><pre id='a'>{left}</pre></div>"
             f"<div><h2>{text(b.student)}</h2><pre id='b'>{right}</pre></div></div></body></html>"]
    atomic_write(path, "\n".join(parts))


def write_index(path: Path, assignment_id: str, scores: Scores, documents: list[Document],
                names: tuple[str, ...], pages: int, unread: list[tuple[str, str]]) -> None:
    rows = "".join(
        f"<tr><td class='num'>{rank}</td><td class='num'>{p.score:.2f}</td>"
        f"<td><a href='{rank}.html'>{text(documents[p.a].source.student)} — {text(documents[p.b].source.student)}"
        f"</a></td><td>{text(', '.join(shared_functions(p, names)))}</td></tr>"
        for rank, p in enumerate(scores.pairs[:pages], start=1))
    parts = [_head(f"{assignment_id}: similar submissions"),
             f"<h1>{text(assignment_id)}: the {min(pages, len(scores.pairs))} most similar pairs</h1>",
             f"<p>{len(documents)} students; {len(scores.pairs)} pairs share rare material. Material shared by "
             f"more than {scores.cutoff:g} students counts for nothing. All pairs: "
             "<a href='../similarity.csv'>similarity.csv</a>. A high score is a reason to look, not proof.</p>",
             "<table id='pairs'><thead><tr><th>#</th><th>score</th><th>students</th><th>shared functions</th>"
             f"</tr></thead><tbody>{rows}</tbody></table>"]
    if unread:
        items = "".join(f"<li>{text(s)}: {text(why)}</li>" for s, why in unread)
        parts.append(f"<h2>Not compared ({len(unread)})</h2><ul id='unread'>{items}</ul>")
    parts.append("</body></html>")
    atomic_write(path, "\n".join(parts))
