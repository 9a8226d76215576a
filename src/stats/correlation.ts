/**
 * Rank correlations between proxy scores and benchmark accuracies.
 * Kendall's τ-b (ties in either variable handled as in scipy.stats.kendalltau) via Knight's
 * O(n log n) merge-sort algorithm, and Spearman's ρ as the Pearson correlation of average ranks.
 * Written here rather than imported: the npm statistics packages we looked at implement τ-a or
 * O(n²) τ-b only, and these are short and checked against hand-computed cases.
 */

function checkPair(x: readonly number[], y: readonly number[]): void {
  if (x.length !== y.length) throw new Error(`correlation needs equal lengths, got ${x.length} and ${y.length}`);
}

/** Average (fractional) ranks, 1-based; ties share the mean of their positions. */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Array<number>(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

export function pearson(x: readonly number[], y: readonly number[]): number {
  checkPair(x, y);
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

export function spearman(x: readonly number[], y: readonly number[]): number {
  checkPair(x, y);
  return pearson(averageRanks(x), averageRanks(y));
}

/** Number of tied pairs within runs of equal values of a sorted key sequence. */
function tiedPairs(sortedKeys: readonly number[]): number {
  let pairs = 0, run = 1;
  for (let i = 1; i <= sortedKeys.length; i++) {
    if (i < sortedKeys.length && sortedKeys[i] === sortedKeys[i - 1]) run++;
    else { pairs += (run * (run - 1)) / 2; run = 1; }
  }
  return pairs;
}

/** Kendall's τ-b. NaN when either variable is constant. */
export function kendallTau(x: readonly number[], y: readonly number[]): number {
  checkPair(x, y);
  const n = x.length;
  if (n < 2) return NaN;
  // Sort by x, then y.
  const idx = x.map((_, i) => i).sort((a, b) => x[a] - x[b] || y[a] - y[b]);
  const xs = idx.map((i) => x[i]);
  const ys = idx.map((i) => y[i]);
  const n0 = (n * (n - 1)) / 2;
  const n1 = tiedPairs(xs);
  // Pairs tied in both x and y.
  let n3 = 0, run = 1;
  for (let i = 1; i <= n; i++) {
    if (i < n && xs[i] === xs[i - 1] && ys[i] === ys[i - 1]) run++;
    else { n3 += (run * (run - 1)) / 2; run = 1; }
  }
  // Count swaps needed to sort ys (merge sort): the discordant pairs.
  const swaps = mergeSortCount(ys.slice());
  const sortedY = ys.slice().sort((a, b) => a - b);
  const n2 = tiedPairs(sortedY);
  const denom = Math.sqrt((n0 - n1) * (n0 - n2));
  if (denom === 0) return NaN;
  const concordantMinusDiscordant = n0 - n1 - n2 + n3 - 2 * swaps;
  return concordantMinusDiscordant / denom;
}

function mergeSortCount(a: number[]): number {
  const buf = new Array<number>(a.length);
  let swaps = 0;
  for (let width = 1; width < a.length; width *= 2) {
    for (let lo = 0; lo < a.length; lo += 2 * width) {
      const mid = Math.min(lo + width, a.length), hi = Math.min(lo + 2 * width, a.length);
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        if (a[j] < a[i]) { swaps += mid - i; buf[k++] = a[j++]; }
        else buf[k++] = a[i++];
      }
      while (i < mid) buf[k++] = a[i++];
      while (j < hi) buf[k++] = a[j++];
      for (let t = lo; t < hi; t++) a[t] = buf[t];
    }
  }
  return swaps;
}
