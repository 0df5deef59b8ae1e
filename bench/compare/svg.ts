/**
 * Grouped bar charts as plain SVG (no dependencies): one group per category, one bar per
 * series, value labels on top, "n/a" where a series has no figure. Optionally a lighter
 * "behind" bar per series (offered load behind delivered).
 */

export interface BarChart {
  title: string;
  unit: string;
  groups: string[];
  series: { name: string; color: string }[];
  /** values[group][series]; NaN = n/a */
  values: number[][];
  /** optional lighter bar drawn behind each value (e.g. offered load) */
  behind?: number[][];
  behindLabel?: string;
  note?: string;
  decimals?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number, decimals?: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  const d = decimals ?? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2);
  return v.toFixed(d);
}

export function barChartSvg(c: BarChart): string {
  const barW = 26;
  const gap = 6;
  const groupPad = 28;
  const left = 64;
  const top = 48;
  const plotH = 240;
  const groupW = c.series.length * (barW + gap) - gap + groupPad;
  const width = Math.max(480, left + c.groups.length * groupW + 20);
  const legendY = top + plotH + 56;
  const height = legendY + 24 + (c.note ? 18 : 0);
  const all = [...c.values.flat(), ...(c.behind ?? []).flat()].filter((v) => Number.isFinite(v));
  const max = niceMax(Math.max(0, ...all));
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(c.title)}</text>`);
  out.push(`<text x="14" y="${top + plotH / 2}" transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle">${esc(c.unit)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    const yy = y(v);
    out.push(`<line x1="${left}" x2="${width - 10}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${yy + 4}" text-anchor="end" fill="#555">${fmt(v)}</text>`);
  }
  c.groups.forEach((g, gi) => {
    const gx = left + gi * groupW + groupPad / 2;
    c.series.forEach((s, si) => {
      const x = gx + si * (barW + gap);
      const b = c.behind?.[gi]?.[si];
      if (b !== undefined && Number.isFinite(b)) {
        out.push(`<rect x="${x}" y="${y(b)}" width="${barW}" height="${top + plotH - y(b)}" fill="${s.color}" opacity="0.25"><title>${esc(`${s.name} ${c.behindLabel ?? ''}: ${fmt(b, c.decimals)}`)}</title></rect>`);
      }
      const v = c.values[gi]?.[si];
      if (v === undefined || !Number.isFinite(v)) {
        out.push(`<text x="${x + barW / 2}" y="${top + plotH - 4}" text-anchor="middle" fill="#999" font-size="9">n/a</text>`);
        return;
      }
      out.push(`<rect x="${x}" y="${y(v)}" width="${barW}" height="${top + plotH - y(v)}" fill="${s.color}"><title>${esc(`${s.name}: ${fmt(v, c.decimals)} ${c.unit}`)}</title></rect>`);
      out.push(`<text x="${x + barW / 2}" y="${y(v) - 3}" text-anchor="middle" font-size="9">${fmt(v, c.decimals)}</text>`);
    });
    const cx = gx + (c.series.length * (barW + gap) - gap) / 2;
    out.push(`<text x="${cx}" y="${top + plotH + 16}" text-anchor="middle">${esc(g)}</text>`);
  });
  out.push(`<line x1="${left}" x2="${width - 10}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  let lx = left;
  for (const s of c.series) {
    out.push(`<rect x="${lx}" y="${legendY - 9}" width="12" height="12" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 16}" y="${legendY + 1}">${esc(s.name)}</text>`);
    lx += 24 + s.name.length * 7;
  }
  if (c.behind) {
    out.push(`<rect x="${lx}" y="${legendY - 9}" width="12" height="12" fill="#888" opacity="0.25"/>`);
    out.push(`<text x="${lx + 16}" y="${legendY + 1}">${esc(c.behindLabel ?? 'behind')}</text>`);
  }
  if (c.note) out.push(`<text x="${left}" y="${legendY + 22}" fill="#555" font-size="10">${esc(c.note)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** A line chart over time (x in seconds): one polyline per series, same axes style as the bars. */
export interface LineChart {
  title: string;
  unit: string;
  xLabel: string;
  series: { name: string; color: string; points: [number, number][] }[];
  note?: string;
}

export function lineChartSvg(c: LineChart): string {
  const left = 64;
  const top = 48;
  const plotW = 640;
  const plotH = 240;
  const width = left + plotW + 20;
  const legendY = top + plotH + 46;
  const height = legendY + 24 + (c.note ? 18 : 0);
  const xs = c.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = c.series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => Number.isFinite(v));
  const xMax = niceMax(Math.max(1, ...xs));
  const yMax = niceMax(Math.max(0, ...ys));
  const X = (v: number) => left + (v / xMax) * plotW;
  const Y = (v: number) => top + plotH - (v / yMax) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(c.title)}</text>`);
  out.push(`<text x="14" y="${top + plotH / 2}" transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle">${esc(c.unit)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${Y(v)}" y2="${Y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${Y(v) + 4}" text-anchor="end" fill="#555">${fmt(v)}</text>`);
    const xv = (xMax * i) / 4;
    out.push(`<text x="${X(xv)}" y="${top + plotH + 16}" text-anchor="middle" fill="#555">${fmt(xv)}</text>`);
  }
  out.push(`<text x="${left + plotW / 2}" y="${top + plotH + 32}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  for (const s of c.series) {
    const pts = s.points.filter((p) => Number.isFinite(p[1])).map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts}"><title>${esc(s.name)}</title></polyline>`);
  }
  let lx = left;
  for (const s of c.series) {
    out.push(`<rect x="${lx}" y="${legendY - 9}" width="12" height="12" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 16}" y="${legendY + 1}">${esc(s.name)}</text>`);
    lx += 24 + s.name.length * 7;
  }
  if (c.note) out.push(`<text x="${left}" y="${legendY + 22}" fill="#555" font-size="10">${esc(c.note)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/**
 * Latency histograms: one panel per group (scenario), log-spaced bins on x (µs), the share of
 * samples per bin on y (%), one step line per series, with its p50 / p99 / max marked under the
 * panel. Samples beyond the last bin count in it (the max is printed anyway).
 */
export interface HistogramChart {
  title: string;
  panels: { name: string; series: { name: string; color: string; samples: number[] }[] }[];
  /** bin edges from `lo` to `hi` µs, `perDecade` bins per factor of 10 */
  lo: number;
  hi: number;
  perDecade: number;
  note?: string;
}

const quantile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))];

export function histogramSvg(c: HistogramChart): string {
  const left = 64;
  const plotW = 640;
  const plotH = 180;
  const panelH = plotH + 40;
  const top = 40;
  const width = left + plotW + 220;
  const height = top + c.panels.length * (panelH + 30) + (c.note ? 24 : 8);
  const decades = Math.log10(c.hi / c.lo);
  const nb = Math.round(decades * c.perDecade);
  const edge = (i: number) => c.lo * 10 ** (i / c.perDecade);
  const X = (us: number) => left + (Math.log10(Math.max(c.lo, Math.min(c.hi, us)) / c.lo) / decades) * plotW;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(c.title)}</text>`);
  c.panels.forEach((panel, pi) => {
    const py = top + pi * (panelH + 30);
    const hists = panel.series.map((s) => {
      const h = new Array<number>(nb).fill(0);
      for (const v of s.samples) {
        const i = v <= c.lo ? 0 : Math.min(nb - 1, Math.floor(Math.log10(v / c.lo) * c.perDecade));
        h[i]++;
      }
      return h.map((n) => (s.samples.length ? (n / s.samples.length) * 100 : 0));
    });
    const yMax = niceMax(Math.max(1, ...hists.flat()));
    const Y = (v: number) => py + 14 + plotH - (v / yMax) * plotH;
    out.push(`<text x="${left}" y="${py + 8}" font-weight="bold">${esc(panel.name)}</text>`);
    for (let i = 0; i <= 4; i++) {
      const v = (yMax * i) / 4;
      out.push(`<line x1="${left}" x2="${left + plotW}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eee"/>`);
      out.push(`<text x="${left - 6}" y="${Y(v) + 4}" text-anchor="end" fill="#555">${fmt(v, v % 1 ? 1 : 0)}%</text>`);
    }
    for (let d = 0; d <= Math.ceil(decades); d++) {
      for (const m of [1, 2, 5]) {
        const us = c.lo * 10 ** d * m;
        if (us > c.hi) continue;
        out.push(`<line x1="${X(us)}" x2="${X(us)}" y1="${py + 14}" y2="${py + 14 + plotH}" stroke="${m === 1 ? '#ddd' : '#f3f3f3'}"/>`);
        out.push(`<text x="${X(us)}" y="${py + plotH + 28}" text-anchor="middle" fill="#555">${us >= 1000 ? `${us / 1000} ms` : `${us} µs`}</text>`);
      }
    }
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${py + 14 + plotH}" y2="${py + 14 + plotH}" stroke="#333"/>`);
    panel.series.forEach((s, si) => {
      if (!s.samples.length) return;
      const h = hists[si];
      const pts: string[] = [`${X(edge(0)).toFixed(1)},${Y(0).toFixed(1)}`];
      for (let i = 0; i < nb; i++) pts.push(`${X(edge(i)).toFixed(1)},${Y(h[i]).toFixed(1)}`, `${X(edge(i + 1)).toFixed(1)},${Y(h[i]).toFixed(1)}`);
      pts.push(`${X(edge(nb)).toFixed(1)},${Y(0).toFixed(1)}`);
      out.push(`<polyline fill="${s.color}" fill-opacity="0.08" stroke="${s.color}" stroke-width="1.5" points="${pts.join(' ')}"><title>${esc(s.name)}</title></polyline>`);
      const sorted = [...s.samples].sort((a, b) => a - b);
      const p50 = quantile(sorted, 0.5);
      const p99 = quantile(sorted, 0.99);
      const max = sorted[sorted.length - 1];
      out.push(`<line x1="${X(p50)}" x2="${X(p50)}" y1="${py + 14}" y2="${py + 14 + plotH}" stroke="${s.color}" stroke-dasharray="4 3"/>`);
      out.push(`<line x1="${X(p99)}" x2="${X(p99)}" y1="${py + 14}" y2="${py + 14 + plotH}" stroke="${s.color}" stroke-dasharray="1 3"/>`);
      const ly = py + 24 + si * 30;
      out.push(`<rect x="${left + plotW + 12}" y="${ly - 9}" width="12" height="12" fill="${s.color}"/>`);
      out.push(`<text x="${left + plotW + 28}" y="${ly + 1}">${esc(s.name)}</text>`);
      out.push(`<text x="${left + plotW + 28}" y="${ly + 14}" fill="#555" font-size="10">p50 ${p50} · p99 ${p99} · max ${max} µs</text>`);
    });
  });
  if (c.note) out.push(`<text x="${left}" y="${height - 10}" fill="#555" font-size="10">${esc(c.note)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
