/**
 * The report's drawing of a Macro network: one box per searchable layer in a row (stem and head
 * at the ends), each with its operation (kernel k and expansion e, or identity), its stride and
 * its output channels; stages are separated by a wider gap.
 */
import { MACRO_OPS, MACRO_STAGES, type MacroArch } from './arch.js';
import { macroLayerShapes, MACRO_HEAD_CHANNELS, MACRO_STEM_CHANNELS } from './network.js';

const COLORS = ['#bbbbbb', '#6baed6', '#2171b5'];

export function macroDrawing(arch: MacroArch): string {
  const bw = 64, bh = 64, gap = 10, stageGap = 26, top = 40, left = 10;
  const shapes = macroLayerShapes();
  const parts: string[] = [];
  let x = left;
  const box = (label: string, sub: string, sub2: string, fill: string, title: string, attrs = ''): void => {
    parts.push(`<g class="layer"${attrs}><title>${title}</title>` +
      `<rect x="${x}" y="${top}" width="${bw}" height="${bh}" rx="6" fill="${fill}" stroke="#333"/>` +
      `<text x="${x + bw / 2}" y="${top + 20}" text-anchor="middle" font-weight="bold">${label}</text>` +
      `<text x="${x + bw / 2}" y="${top + 38}" text-anchor="middle">${sub}</text>` +
      `<text x="${x + bw / 2}" y="${top + 54}" text-anchor="middle">${sub2}</text></g>`);
    x += bw;
  };
  box('stem', '3×3 conv', `${MACRO_STEM_CHANNELS} ch`, '#eeeeee', `stem: 3×3 conv to ${MACRO_STEM_CHANNELS}, BN, ReLU`);
  let i = 0;
  MACRO_STAGES.forEach((n, s) => {
    x += stageGap;
    parts.push(`<text x="${x + (n * bw + (n - 1) * gap) / 2}" y="${top - 12}" text-anchor="middle" fill="#555">stage ${s + 1}</text>`);
    for (let j = 0; j < n; j++, i++) {
      if (j > 0) x += gap;
      const op = MACRO_OPS[arch[i]];
      const { cout, stride } = shapes[i];
      const label = op ? `k${op.k} e${op.expansion}` : stride === 1 ? 'id' : '1×1 conv';
      const title = op
        ? `layer ${i + 1}: inverted residual, kernel ${op.k}, expansion ${op.expansion}, stride ${stride}, ${cout} channels`
        : `layer ${i + 1}: identity${stride === 1 ? '' : ` (1×1 conv + BN, stride ${stride})`}, ${cout} channels`;
      box(label, `s${stride}`, `${cout} ch`, COLORS[arch[i]], title, ` data-choice="${arch[i]}"`);
    }
  });
  x += stageGap;
  box('head', '1×1 conv', `${MACRO_HEAD_CHANNELS} ch`, '#eeeeee', `head: 1×1 conv to ${MACRO_HEAD_CHANNELS}, BN, ReLU, global pool, linear`);
  const W = x + left, H = top + bh + 16;
  return `<svg class="chart macro-layers" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">${parts.join('')}</svg>`;
}
