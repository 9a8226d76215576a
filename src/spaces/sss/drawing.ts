/**
 * The report's drawing of an SSS network: one bar per channel position (c1..c5, the widths of
 * the stem and the three stages), against the space's largest width, 64.
 */
const MAX = 64;

export function channelBars(channels: readonly number[]): string {
  const W = 540, H = 240, top = 30, base = 200, bw = 64, gap = 36, left = 60;
  const scale = (base - top) / MAX;
  const grid = [0, 16, 32, 48, 64].map((v) => `<line x1="${left - 6}" y1="${base - v * scale}" x2="${W - 10}" y2="${base - v * scale}" stroke="#eee"/>` +
    `<text x="${left - 10}" y="${base - v * scale + 4}" text-anchor="end" fill="#555">${v}</text>`).join('');
  const bars = channels.map((c, i) => {
    const bh = c * scale, x = left + 10 + i * (bw + gap);
    return `<g class="bar" data-channels="${c}"><title>c${i + 1}: ${c} channels</title>` +
      `<rect x="${x}" y="${base - bh}" width="${bw}" height="${bh}" fill="#1f77b4"/>` +
      `<text x="${x + bw / 2}" y="${base - bh - 5}" text-anchor="middle">${c}</text>` +
      `<text x="${x + bw / 2}" y="${base + 16}" text-anchor="middle">c${i + 1}</text></g>`;
  }).join('');
  return `<svg class="chart channel-bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">` +
    `<text x="14" y="${(top + base) / 2}" transform="rotate(-90 14 ${(top + base) / 2})" text-anchor="middle">channels</text>${grid}${bars}</svg>`;
}
