"""The HTML shell: inline CSS, a sortable-table script, and a table builder that escapes every cell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wattprint.report.svg import esc

CSS = """
:root{--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--card:#fff;--accent:#0e9f6e;--warm:#e0703a}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
main{max-width:1120px;margin:0 auto;padding:20px 16px 60px}
header.top{background:linear-gradient(135deg,#064e3b,#0e9f6e);color:#fff;padding:28px 16px 24px}
header.top .in{max-width:1120px;margin:0 auto}
header.top h1{margin:0 0 4px;font-size:28px;letter-spacing:-.02em}
header.top p{margin:0;opacity:.9}
h2{font-size:20px;margin:36px 0 6px;letter-spacing:-.01em}
h3{font-size:16px;margin:22px 0 6px}
p.lead{color:var(--muted);margin:0 0 14px;max-width:75ch}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin:18px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px 16px}
.card .k{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
.card .v{font-size:22px;font-weight:650;margin-top:2px;line-height:1.25}
.card .s{font-size:13px;color:var(--muted)}
.panel{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:12px;margin:12px 0}
.panel.wide{overflow-x:auto}.panel.wide svg.chart{min-width:620px}
svg.chart{width:100%;height:auto;display:block}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
.tw{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:12px;margin:10px 0}
table{border-collapse:collapse;width:100%;font-size:13.5px}
th,td{padding:7px 10px;text-align:left;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f1f5f9;font-weight:600;position:sticky;top:0;vertical-align:bottom}
th.sortable{cursor:pointer;user-select:none}
th.sortable:after{content:" ↕";color:#94a3b8;font-size:11px}
th.asc:after{content:" ▲";color:var(--ink)}
th.desc:after{content:" ▼";color:var(--ink)}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr:hover td{background:#f8fafc}
.stars{color:#f59e0b;letter-spacing:1px;white-space:nowrap;font-size:15px}
.tag{display:inline-block;padding:1px 7px;border-radius:999px;font-size:12px;background:#eef2f7;color:#334155;
 margin:1px 2px 1px 0;white-space:nowrap}
.tag.ts{background:#dcfce7;color:#166534}.tag.gp{background:#ffedd5;color:#9a3412}
.tag.cc{background:#e0e7ff;color:#3730a3}.tag.rnd{background:#fef9c3;color:#854d0e}
.tag.shr{background:#fee2e2;color:#991b1b;font-weight:600}
details{margin:10px 0}summary{cursor:pointer;color:#334155}
.muted{color:var(--muted)}.small{font-size:12px}.nw{white-space:nowrap}
.model{font-weight:600;overflow-wrap:anywhere;display:inline-block;min-width:150px}
ul.notes{color:#334155;max-width:80ch}
footer{color:var(--muted);font-size:13px;margin-top:40px}
@media (max-width:640px){body{font-size:14px}header.top h1{font-size:22px}.card .v{font-size:20px}
 th,td{padding:6px 7px}.card{padding:10px 12px}.card .v{font-size:18px}}
"""

# Click a header to sort by it; again to reverse. Numbers sort by data-v, the rest as text.
JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.classList.add('sortable');
    th.addEventListener('click',function(){
      var asc=!th.classList.contains('asc');
      t.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc')});
      th.classList.add(asc?'asc':'desc');
      var body=t.tBodies[0], rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[i], y=b.cells[i];
        var xv=x.getAttribute('data-v'), yv=y.getAttribute('data-v');
        var r;
        if(xv!==null && yv!==null && xv!=='' && yv!==''){r=parseFloat(xv)-parseFloat(yv);}
        else if(xv===''||yv===''){r=(xv==='')-(yv==='');return r;}
        else {r=x.textContent.localeCompare(y.textContent);}
        return asc?r:-r;
      });
      rows.forEach(function(r){body.appendChild(r)});
    });
  });
});
"""


@dataclass(frozen=True)
class Cell:
    """A table cell: its HTML (already escaped by whoever built it) and an optional numeric sort key."""

    html: str
    sort: float | None = None
    numeric: bool = False

    @classmethod
    def text(cls, s: object) -> Cell:
        return cls(esc("" if s is None else s))

    @classmethod
    def num(cls, shown: str, value: float | None) -> Cell:
        return cls(esc(shown), value, True)


def table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], cls: str = "sortable", tid: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        tds = []
        for c in row:
            attrs = ' class="n"' if c.numeric else ""
            if c.numeric:
                attrs += f' data-v="{"" if c.sort is None else repr(float(c.sort))}"'
            tds.append(f"<td{attrs}>{c.html}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    idattr = f' id="{esc(tid)}"' if tid else ""
    return (f'<div class="tw"><table class="{cls}"{idattr}><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def document(title: str, header_html: str, body_html: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f'<header class="top"><div class="in">{header_html}</div></header>'
        f"<main>{body_html}</main><script>{JS}</script></body></html>\n"
    )
