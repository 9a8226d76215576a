/**
 * Small, dependency-free SVG charts for the self-contained HTML report (no scripts, no network:
 * the report opens anywhere, offline). Each function returns one <svg> element as a string.
 */

export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  readonly color: string;
}

const W = 520, H = 300, M = { l: 56, r: 16, t: 28, b: 40 };

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function extent(values: number[]): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let lo = Math.min(...finite), hi = Math.max(...finite);
  if (lo === hi) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

function ticks([lo, hi]: [number, number], n = 5): number[] {
  const step = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(step));
  const nice = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step) ?? step;
  const out: number[] = [];
  for (let v = Math.ceil(lo / nice) * nice; v <= hi + 1e-9; v += nice) out.push(+v.toPrecision(10));
  return out;
}

function frame(title: string, xLabel: string, yLabel: string, xs: [number, number], ys: [number, number], body: string, cls: string): string {
  const sx = (x: number) => M.l + ((x - xs[0]) / (xs[1] - xs[0])) * (W - M.l - M.r);
  const sy = (y: number) => H - M.b - ((y - ys[0]) / (ys[1] - ys[0])) * (H - M.t - M.b);
  const xt = ticks(xs).map((t) => `<line x1="${sx(t)}" y1="${H - M.b}" x2="${sx(t)}" y2="${H - M.b + 4}" stroke="#555"/><text x="${sx(t)}" y="${H - M.b + 16}" text-anchor="middle">${t}</text>`).join('');
  const yt = ticks(ys).map((t) => `<line x1="${M.l - 4}" y1="${sy(t)}" x2="${W - M.r}" y2="${sy(t)}" stroke="#eee"/><text x="${M.l - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`).join('');
  return `<svg class="${cls}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">` +
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(title)}</text>` +
    yt + xt +
    `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="#555"/><line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="#555"/>` +
    `<text x="${(M.l + W - M.r) / 2}" y="${H - 6}" text-anchor="middle">${escapeXml(xLabel)}</text>` +
    `<text transform="translate(14 ${(M.t + H - M.b) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>` +
    body.replace(/\{x:([^}]+)\}/g, (_, v) => String(sx(Number(v)))).replace(/\{y:([^}]+)\}/g, (_, v) => String(sy(Number(v)))) +
    '</svg>';
}

export function lineChart(title: string, xLabel: string, yLabel: string, series: readonly Series[]): string {
  const xs = extent(series.flatMap((s) => s.points.map((p) => p[0])));
  const ys = extent(series.flatMap((s) => s.points.map((p) => p[1])));
  const body = series.map((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p[1])).map((p) => `{x:${p[0]}},{y:${p[1]}}`).join(' ');
    return `<polyline class="series" fill="none" stroke="${s.color}" stroke-width="2" points="${pts}"/>` +
      `<text x="${W - M.r - 4}" y="${M.t + 12 + 13 * i}" text-anchor="end" fill="${s.color}">${escapeXml(s.name)}</text>`;
  }).join('');
  return frame(title, xLabel, yLabel, xs, ys, body, 'chart line-chart');
}

export function scatterChart(title: string, xLabel: string, yLabel: string, points: ReadonlyArray<{ x: number; y: number; highlight?: boolean }>): string {
  const fin = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = extent(fin.map((p) => p.x)), ys = extent(fin.map((p) => p.y));
  const body = fin.map((p) => p.highlight
    ? `<circle class="point highlight" cx="{x:${p.x}}" cy="{y:${p.y}}" r="5" fill="#d62728" stroke="#000"/>`
    : `<circle class="point" cx="{x:${p.x}}" cy="{y:${p.y}}" r="2.5" fill="#1f77b4" fill-opacity="0.5"/>`).join('');
  return frame(title, xLabel, yLabel, xs, ys, body, 'chart scatter-chart');
}

/** A TSS cell as a 4-node DAG with labelled edges; `none` edges are omitted. */
export function cellDiagram(edges: ReadonlyArray<{ from: number; to: number; op: string }>): string {
  const w = 520, h = 220;
  const node = (i: number) => [50 + i * 140, 120 + (i % 2 === 0 ? 0 : -30)] as const;
  const color: Record<string, string> = { skip_connect: '#2ca02c', nor_conv_1x1: '#ff7f0e', nor_conv_3x3: '#d62728', avg_pool_3x3: '#9467bd' };
  const paths = edges.filter((e) => e.op !== 'none').map((e) => {
    const [x1, y1] = node(e.from), [x2, y2] = node(e.to);
    const bend = (e.to - e.from - 1) * 70 + 10;
    const cx = (x1 + x2) / 2, cy = Math.min(y1, y2) - bend;
    return `<path class="edge" d="M${x1},${y1} Q${cx},${cy} ${x2},${y2}" fill="none" stroke="${color[e.op] ?? '#333'}" stroke-width="2"/>` +
      `<text x="${cx}" y="${(y1 + y2) / 2 - bend / 2 - 4}" text-anchor="middle" fill="${color[e.op] ?? '#333'}">${escapeXml(e.op)}</text>`;
  }).join('');
  const nodes = [0, 1, 2, 3].map((i) => {
    const [x, y] = node(i);
    return `<circle class="node" cx="${x}" cy="${y}" r="16" fill="#fff" stroke="#000"/><text x="${x}" y="${y + 4}" text-anchor="middle">${i === 0 ? 'in' : i === 3 ? 'out' : i}</text>`;
  }).join('');
  return `<svg class="chart cell-diagram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" font-family="sans-serif" font-size="11">${paths}${nodes}</svg>`;
}

/** SSS channel profile: one bar per stage position. */
export function channelBars(channels: readonly number[]): string {
  const w = 520, h = 220, bw = 70;
  const bars = channels.map((c, i) => {
    const bh = (c / 64) * 160, x = 40 + i * 95;
    return `<rect class="bar" x="${x}" y="${190 - bh}" width="${bw}" height="${bh}" fill="#1f77b4"/>` +
      `<text x="${x + bw / 2}" y="${185 - bh}" text-anchor="middle">${c}</text><text x="${x + bw / 2}" y="206" text-anchor="middle">c${i + 1}</text>`;
  }).join('');
  return `<svg class="chart channel-bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" font-family="sans-serif" font-size="11">${bars}</svg>`;
}
