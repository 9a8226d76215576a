/**
 * The report's drawing of a TSS cell: the four nodes in a row (in, 1, 2, out) and its six edges.
 * Edges between neighbours are straight; 0→2 and 0→3 arc above the row and 1→3 below it, at
 * heights chosen so that no arc passes through a node and no two labels overlap. Each label sits
 * on a white box at its edge's midpoint (the apex of an arc). `none` edges are left out.
 */

export interface CellEdge { readonly from: number; readonly to: number; readonly op: string }

const OP_COLORS: Record<string, string> = { skip_connect: '#2ca02c', nor_conv_1x1: '#ff7f0e', nor_conv_3x3: '#d62728', avg_pool_3x3: '#9467bd' };

const W = 600, H = 262, ROW = 150, R = 17;
const X = [50, 210, 390, 550];

/** Where each edge runs: the control point's offset above (−) or below (+) the row. */
const BEND: Record<string, number> = { '0-1': 0, '1-2': 0, '2-3': 0, '0-2': -150, '0-3': -230, '1-3': 150 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Character width of the label font (11 px sans-serif), generous so that boxes never clip text. */
const CHAR_W = 6.6;

/** The cell as an <svg>; labels are <g class="edge-label"> holding a box and its text. */
export function cellDiagram(edges: readonly CellEdge[]): string {
  const paths: string[] = [], labels: string[] = [];
  for (const e of edges) {
    if (e.op === 'none') continue;
    const bend = BEND[`${e.from}-${e.to}`] ?? -60;
    const color = OP_COLORS[e.op] ?? '#333';
    const x1 = X[e.from] + R, x2 = X[e.to] - R;
    const cx = (X[e.from] + X[e.to]) / 2;
    // The arc runs from the top (bottom) of one node to that of the other; a quadratic
    // curve's apex is (start + 2·control + end) / 4.
    const apexY = ROW + (Math.sign(bend) * R + bend) / 2;
    const d = bend === 0 ? `M${x1},${ROW}L${x2},${ROW}` : `M${X[e.from]},${ROW + Math.sign(bend) * R}Q${cx},${ROW + bend} ${X[e.to]},${ROW + Math.sign(bend) * R}`;
    paths.push(`<path class="edge" data-from="${e.from}" data-to="${e.to}" d="${d}" fill="none" stroke="${color}" stroke-width="2" marker-end="url(#arrow)"><title>${e.from === 0 ? 'in' : e.from} → ${e.to === 3 ? 'out' : e.to}: ${esc(e.op)}</title></path>`);
    const w = e.op.length * CHAR_W + 8, h = 16;
    // Straight edges carry their label above the line, arcs on their apex.
    const ly = bend === 0 ? ROW - 14 : apexY;
    labels.push(`<g class="edge-label" data-from="${e.from}" data-to="${e.to}"><rect x="${cx - w / 2}" y="${ly - h / 2}" width="${w}" height="${h}" rx="3" fill="#fff" stroke="${color}" stroke-width="0.8"/>` +
      `<text x="${cx}" y="${ly + 4}" text-anchor="middle" fill="${color}">${esc(e.op)}</text></g>`);
  }
  const nodes = X.map((x, i) => `<g class="node"><circle cx="${x}" cy="${ROW}" r="${R}" fill="#fff" stroke="#000"/>` +
    `<text x="${x}" y="${ROW + 4}" text-anchor="middle">${i === 0 ? 'in' : i === 3 ? 'out' : i}</text></g>`).join('');
  const defs = '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">' +
    '<path d="M0,0L10,5L0,10Z" fill="#555"/></marker></defs>';
  return `<svg class="chart cell-diagram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">` +
    `${defs}${paths.join('')}${nodes}${labels.join('')}</svg>`;
}
