/**
 * Small SVG charts for the self-contained HTML reports: static markup written with the report,
 * so a report opens anywhere, offline, with no script. Every mark carries a <title> (the
 * browser shows it on hover) and data-* attributes with its exact values (what the tests read).
 *
 * Hand-written rather than a chart library: the reports need scatter, line, band, step front and
 * reference-line layers only, and static SVG with native hover needs no runtime at all.
 */

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];
export const ANSWER_COLOR = '#d62728';

/** A point of a scatter layer. */
export interface ChartPoint {
  readonly x: number;
  readonly y: number;
  /** Hover text (one line per \n). */
  readonly title?: string;
  /** Extra data-* attributes (name without the data- prefix). */
  readonly data?: Readonly<Record<string, string | number | null>>;
}

export interface ChartLayer {
  readonly kind: 'points' | 'line' | 'band' | 'front' | 'marked';
  readonly name: string;
  readonly color: string;
  /** points / marked / front: the points; line: the vertices. */
  readonly points?: readonly ChartPoint[];
  /** band: lower and upper edge at each x. */
  readonly band?: ReadonlyArray<{ x: number; lo: number; hi: number }>;
  /** CSS class of each mark (tests select by it). */
  readonly cls?: string;
  /** Leave out of the legend. */
  readonly noLegend?: boolean;
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly cls: string;
  readonly layers: readonly ChartLayer[];
  /** Horizontal reference lines (e.g. the space's best accuracy). */
  readonly hlines?: ReadonlyArray<{ y: number; label: string; color?: string }>;
  /** Extra text under the title (e.g. Kendall τ). */
  readonly subtitle?: string;
  readonly width?: number;
  readonly height?: number;
  /** Attributes on the <svg> (data-tau etc.). */
  readonly data?: Readonly<Record<string, string | number | null>>;
}

const M = { l: 60, r: 16, t: 58, b: 42 };

function extent(values: number[]): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let lo = Math.min(...finite), hi = Math.max(...finite);
  if (lo === hi) { lo -= Math.abs(lo) * 0.05 || 1; hi += Math.abs(hi) * 0.05 || 1; }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** Round tick values ("nice" steps of 1, 2, 5 × 10^k). */
export function ticks([lo, hi]: [number, number], n = 5): number[] {
  const step = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(step));
  const nice = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step) ?? step;
  const out: number[] = [];
  for (let v = Math.ceil(lo / nice) * nice; v <= hi + 1e-9 * Math.abs(hi || 1); v += nice) out.push(+v.toPrecision(10));
  return out;
}

function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(1);
  return String(+v.toPrecision(6));
}

function attrs(data: Readonly<Record<string, string | number | null>> | undefined): string {
  if (!data) return '';
  return Object.entries(data).map(([k, v]) => ` data-${k}="${escapeXml(v === null ? '' : String(v))}"`).join('');
}

function title(text: string | undefined): string {
  return text ? `<title>${escapeXml(text)}</title>` : '';
}

const r2 = (v: number) => Math.round(v * 100) / 100;

/** One chart as an <svg> element. */
export function chart(spec: ChartSpec): string {
  const W = spec.width ?? 540, H = spec.height ?? 340;
  const finite = (p: ChartPoint) => Number.isFinite(p.x) && Number.isFinite(p.y);
  const xsAll: number[] = [], ysAll: number[] = [];
  for (const l of spec.layers) {
    for (const p of l.points ?? []) if (finite(p)) { xsAll.push(p.x); ysAll.push(p.y); }
    for (const b of l.band ?? []) { xsAll.push(b.x); ysAll.push(b.lo, b.hi); }
  }
  for (const h of spec.hlines ?? []) ysAll.push(h.y);
  const xs = extent(xsAll), ys = extent(ysAll);
  const sx = (x: number) => r2(M.l + ((x - xs[0]) / (xs[1] - xs[0])) * (W - M.l - M.r));
  const sy = (y: number) => r2(H - M.b - ((y - ys[0]) / (ys[1] - ys[0])) * (H - M.t - M.b));

  const parts: string[] = [];
  parts.push(`<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(spec.title)}</text>`);
  if (spec.subtitle) parts.push(`<text class="subtitle" x="${W / 2}" y="31" text-anchor="middle" font-size="11" fill="#444">${escapeXml(spec.subtitle)}</text>`);
  for (const t of ticks(ys)) {
    parts.push(`<line x1="${M.l - 4}" y1="${sy(t)}" x2="${W - M.r}" y2="${sy(t)}" stroke="#eee"/><text x="${M.l - 6}" y="${sy(t) + 4}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  for (const t of ticks(xs)) {
    parts.push(`<line x1="${sx(t)}" y1="${H - M.b}" x2="${sx(t)}" y2="${H - M.b + 4}" stroke="#555"/><text x="${sx(t)}" y="${H - M.b + 16}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  parts.push(`<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="#555"/><line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="#555"/>`);
  parts.push(`<text x="${(M.l + W - M.r) / 2}" y="${H - 6}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${(M.t + H - M.b) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`);

  for (const h of spec.hlines ?? []) {
    const c = h.color ?? '#555';
    parts.push(`<g class="reference" data-y="${h.y}">${title(`${h.label}: ${h.y}`)}<line x1="${M.l}" y1="${sy(h.y)}" x2="${W - M.r}" y2="${sy(h.y)}" stroke="${c}" stroke-dasharray="5 3"/>` +
      `<text x="${M.l + 4}" y="${sy(h.y) - 4}" fill="${c}">${escapeXml(h.label)}</text></g>`);
  }
  // Bands below lines below points below the front below marked points.
  const order: ChartLayer['kind'][] = ['band', 'points', 'line', 'front', 'marked'];
  for (const kind of order) {
    for (const l of spec.layers.filter((x) => x.kind === kind)) {
      const cls = l.cls ?? kind;
      const pts = (l.points ?? []).filter(finite);
      if (kind === 'band' && l.band && l.band.length > 0) {
        const upper = l.band.map((b) => `${sx(b.x)},${sy(b.hi)}`);
        const lower = [...l.band].reverse().map((b) => `${sx(b.x)},${sy(b.lo)}`);
        parts.push(`<polygon class="${cls}" points="${[...upper, ...lower].join(' ')}" fill="${l.color}" fill-opacity="0.15" stroke="none">${title(l.name)}</polygon>`);
      } else if (kind === 'line') {
        parts.push(`<polyline class="${cls}" fill="none" stroke="${l.color}" stroke-width="2" points="${pts.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' ')}"/>`);
        for (const p of pts) parts.push(`<circle class="${cls}-point" cx="${sx(p.x)}" cy="${sy(p.y)}" r="3" fill="${l.color}"${attrs(p.data)}>${title(p.title)}</circle>`);
      } else if (kind === 'points') {
        for (const p of pts) parts.push(`<circle class="${cls}" cx="${sx(p.x)}" cy="${sy(p.y)}" r="3" fill="${l.color}" fill-opacity="0.45"${attrs(p.data)}>${title(p.title)}</circle>`);
      } else if (kind === 'front' && pts.length > 0) {
        // A staircase: from each member, flat to the next member's cost, then up to it.
        const path = pts.map((p, i) => (i === 0 ? `M${sx(p.x)},${sy(p.y)}` : `H${sx(p.x)}V${sy(p.y)}`)).join('');
        parts.push(`<path class="${cls}-line" d="${path}" fill="none" stroke="${l.color}" stroke-width="1.5"/>`);
        for (const p of pts) parts.push(`<circle class="${cls}" cx="${sx(p.x)}" cy="${sy(p.y)}" r="4.5" fill="none" stroke="${l.color}" stroke-width="2"${attrs(p.data)}>${title(p.title)}</circle>`);
      } else if (kind === 'marked') {
        for (const p of pts) {
          parts.push(`<path class="${cls}" d="M${sx(p.x)},${sy(p.y) - 8}L${sx(p.x) + 7},${sy(p.y) + 5}L${sx(p.x) - 7},${sy(p.y) + 5}Z" fill="${l.color}" stroke="#000"${attrs(p.data)}>${title(p.title)}</path>`);
        }
      }
    }
  }
  // The legend is one row between the title and the plot, right-aligned, so it never hides data.
  const legend = spec.layers.filter((l) => !l.noLegend && l.kind !== 'band');
  let right = W - M.r;
  const y = 46;
  for (const l of [...legend].reverse()) {
    const cx = right - 5;
    const mark = l.kind === 'marked' ? `<path d="M${cx},${y - 8}L${cx + 5},${y + 1}L${cx - 5},${y + 1}Z" fill="${l.color}"/>`
      : l.kind === 'front' ? `<circle cx="${cx}" cy="${y - 3}" r="4" fill="none" stroke="${l.color}" stroke-width="2"/>`
        : `<circle cx="${cx}" cy="${y - 3}" r="4" fill="${l.color}"/>`;
    parts.push(`<g class="legend">${mark}<text x="${right - 13}" y="${y + 1}" text-anchor="end" fill="#333">${escapeXml(l.name)}</text></g>`);
    right -= 13 + l.name.length * 6.2 + 14;
  }
  return `<svg class="chart ${spec.cls}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11"${attrs(spec.data)}>` +
    parts.join('') + '</svg>';
}

/** An HTML table; cells are escaped text unless given as { html }. */
export function htmlTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null | { html: string }>>, cls = ''): string {
  const cell = (c: string | number | null | { html: string }) => (c !== null && typeof c === 'object' ? c.html : escapeXml(c === null ? '–' : String(c)));
  const numeric = (c: unknown) => typeof c === 'number' || (typeof c === 'string' && /^[+-]?[\d.,]+(e[+-]?\d+)?$/i.test(c));
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${header.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c) => `<td${numeric(c) ? ' class="num"' : ''}>${cell(c)}</td>`).join('')}</tr>`).join('') + '</tbody></table>';
}

/** The page around a report's sections: one file, inline CSS, no script, no network. */
export function htmlPage(pageTitle: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(pageTitle)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1180px;padding:0 16px;color:#222;line-height:1.4}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}tr.answer td{background:#fdecea;font-weight:600}
code{word-break:break-all;font-size:12px}.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}
figcaption{font-size:12px;color:#555;max-width:540px}.answer-box{background:#f7f9fc;border:1px solid #cdd9ea;border-radius:6px;padding:10px 14px}
.settings td:first-child{color:#555}.settings td.num{text-align:left}.files a{margin-right:12px}details{margin:6px 0}
svg circle,svg path{cursor:default}
</style></head>
<body>
${body}
</body></html>
`;
}
