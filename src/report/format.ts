/**
 * How numbers read in the readable outputs (the command line without --json, the HTML
 * reports): accuracy to 2 decimals, seconds to 1, FLOPs and parameters in millions, proxy
 * scores to 4 significant digits. The JSON and CSV outputs keep the exact values.
 */

/** Benchmark accuracy in %, 2 decimals; "–" when there is none (no table, image folder). */
export function fmtAccuracy(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(2);
}

export function fmtSeconds(s: number): string {
  return s.toFixed(1);
}

/** Millions, 2 decimals (FLOPs are already in millions in mfnas). */
export function fmtMillions(v: number): string {
  return v.toFixed(2);
}

/** Parameters in millions (3 decimals: SSS's smallest networks have ~0.02 M). */
export function fmtParamsM(params: number): string {
  return (params / 1e6).toFixed(3);
}

/** A proxy score: 4 significant digits, plain notation where it stays short. */
export function fmtScore(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(3);
  return Number(v.toPrecision(4)).toString();
}

