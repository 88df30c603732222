// A minimal raster plotter for the reports: grouped bar charts with axes, ticks, a legend and labels
// drawn in a 5x7 bitmap font (upper case; lower case is drawn as upper case). Output: PNG via png.ts.
import { Image } from './png.js';

type RGB = [number, number, number];

// 5x7 glyphs, one string per row, '#' = ink.
const GLYPHS: Record<string, string[]> = {
  '0': [' ### ', '#   #', '#  ##', '# # #', '##  #', '#   #', ' ### '],
  '1': ['  #  ', ' ##  ', '  #  ', '  #  ', '  #  ', '  #  ', ' ### '],
  '2': [' ### ', '#   #', '    #', '   # ', '  #  ', ' #   ', '#####'],
  '3': ['#####', '   # ', '  #  ', '   # ', '    #', '#   #', ' ### '],
  '4': ['   # ', '  ## ', ' # # ', '#  # ', '#####', '   # ', '   # '],
  '5': ['#####', '#    ', '#### ', '    #', '    #', '#   #', ' ### '],
  '6': ['  ## ', ' #   ', '#    ', '#### ', '#   #', '#   #', ' ### '],
  '7': ['#####', '    #', '   # ', '  #  ', ' #   ', ' #   ', ' #   '],
  '8': [' ### ', '#   #', '#   #', ' ### ', '#   #', '#   #', ' ### '],
  '9': [' ### ', '#   #', '#   #', ' ####', '    #', '   # ', ' ##  '],
  A: [' ### ', '#   #', '#   #', '#####', '#   #', '#   #', '#   #'],
  B: ['#### ', '#   #', '#   #', '#### ', '#   #', '#   #', '#### '],
  C: [' ### ', '#   #', '#    ', '#    ', '#    ', '#   #', ' ### '],
  D: ['###  ', '#  # ', '#   #', '#   #', '#   #', '#  # ', '###  '],
  E: ['#####', '#    ', '#    ', '#### ', '#    ', '#    ', '#####'],
  F: ['#####', '#    ', '#    ', '#### ', '#    ', '#    ', '#    '],
  G: [' ### ', '#   #', '#    ', '# ###', '#   #', '#   #', ' ####'],
  H: ['#   #', '#   #', '#   #', '#####', '#   #', '#   #', '#   #'],
  I: [' ### ', '  #  ', '  #  ', '  #  ', '  #  ', '  #  ', ' ### '],
  J: ['  ###', '   # ', '   # ', '   # ', '   # ', '#  # ', ' ##  '],
  K: ['#   #', '#  # ', '# #  ', '##   ', '# #  ', '#  # ', '#   #'],
  L: ['#    ', '#    ', '#    ', '#    ', '#    ', '#    ', '#####'],
  M: ['#   #', '## ##', '# # #', '# # #', '#   #', '#   #', '#   #'],
  N: ['#   #', '#   #', '##  #', '# # #', '#  ##', '#   #', '#   #'],
  O: [' ### ', '#   #', '#   #', '#   #', '#   #', '#   #', ' ### '],
  P: ['#### ', '#   #', '#   #', '#### ', '#    ', '#    ', '#    '],
  Q: [' ### ', '#   #', '#   #', '#   #', '# # #', '#  # ', ' ## #'],
  R: ['#### ', '#   #', '#   #', '#### ', '# #  ', '#  # ', '#   #'],
  S: [' ####', '#    ', '#    ', ' ### ', '    #', '    #', '#### '],
  T: ['#####', '  #  ', '  #  ', '  #  ', '  #  ', '  #  ', '  #  '],
  U: ['#   #', '#   #', '#   #', '#   #', '#   #', '#   #', ' ### '],
  V: ['#   #', '#   #', '#   #', '#   #', '#   #', ' # # ', '  #  '],
  W: ['#   #', '#   #', '#   #', '# # #', '# # #', '# # #', ' # # '],
  X: ['#   #', '#   #', ' # # ', '  #  ', ' # # ', '#   #', '#   #'],
  Y: ['#   #', '#   #', ' # # ', '  #  ', '  #  ', '  #  ', '  #  '],
  Z: ['#####', '    #', '   # ', '  #  ', ' #   ', '#    ', '#####'],
  ' ': ['     ', '     ', '     ', '     ', '     ', '     ', '     '],
  '.': ['     ', '     ', '     ', '     ', '     ', ' ##  ', ' ##  '],
  ',': ['     ', '     ', '     ', '     ', ' ##  ', '  #  ', ' #   '],
  ':': ['     ', ' ##  ', ' ##  ', '     ', ' ##  ', ' ##  ', '     '],
  '-': ['     ', '     ', '     ', '#####', '     ', '     ', '     '],
  '+': ['     ', '  #  ', '  #  ', '#####', '  #  ', '  #  ', '     '],
  '=': ['     ', '     ', '#####', '     ', '#####', '     ', '     '],
  _: ['     ', '     ', '     ', '     ', '     ', '     ', '#####'],
  '/': ['    #', '    #', '   # ', '  #  ', ' #   ', '#    ', '#    '],
  '(': ['   # ', '  #  ', ' #   ', ' #   ', ' #   ', '  #  ', '   # '],
  ')': [' #   ', '  #  ', '   # ', '   # ', '   # ', '  #  ', ' #   '],
  '%': ['##   ', '##  #', '   # ', '  #  ', ' #   ', '#  ##', '   ##'],
  '@': [' ### ', '#   #', '# ###', '# # #', '# ###', '#    ', ' ####'],
  '#': [' # # ', ' # # ', '#####', ' # # ', '#####', ' # # ', ' # # '],
  '*': ['     ', '# # #', ' ### ', '#####', ' ### ', '# # #', '     '],
  '?': [' ### ', '#   #', '    #', '   # ', '  #  ', '     ', '  #  '],
  "'": ['  #  ', '  #  ', '     ', '     ', '     ', '     ', '     '],
  '<': ['   # ', '  #  ', ' #   ', '#    ', ' #   ', '  #  ', '   # '],
  '>': [' #   ', '  #  ', '   # ', '    #', '   # ', '  #  ', ' #   '],
  '|': ['  #  ', '  #  ', '  #  ', '  #  ', '  #  ', '  #  ', '  #  '],
};

export const INK: RGB = [30, 30, 30];
export const GRID: RGB = [225, 225, 225];
export const PALETTE: RGB[] = [
  [70, 110, 180], // blue
  [220, 120, 40], // orange
  [80, 160, 90], // green
  [190, 60, 70], // red
  [140, 100, 170], // purple
  [120, 120, 120], // grey
];

/** Width in pixels of `text` at `scale` (6 px per character at scale 1). */
export function textWidth(text: string, scale = 1): number {
  return text.length * 6 * scale - scale;
}

export function drawText(img: Image, x: number, y: number, text: string, color: RGB = INK, scale = 1): void {
  let cx = Math.round(x);
  for (const ch of text) {
    const g = GLYPHS[ch] ?? GLYPHS[ch.toUpperCase()] ?? GLYPHS['?'];
    for (let r = 0; r < 7; r++) {
      for (let c = 0; c < 5; c++) if (g[r][c] === '#') img.rect(cx + c * scale, y + r * scale, scale, scale, color);
    }
    cx += 6 * scale;
  }
}

function drawTextRight(img: Image, xRight: number, y: number, text: string, color: RGB = INK, scale = 1) {
  drawText(img, xRight - textWidth(text, scale), y, text, color, scale);
}

/** Short number formatting for axis ticks and bar labels. */
export function fmtNum(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}K`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a >= 0.01) return v.toFixed(3);
  return v.toExponential(1);
}

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

export interface BarSeries {
  name: string;
  values: (number | null)[];
  color?: RGB;
}

export interface BarChart {
  title: string;
  subtitle?: string;
  yLabel: string;
  groups: string[];
  series: BarSeries[];
  /** Logarithmic y axis (values must be > 0; others are not drawn). */
  log?: boolean;
  width?: number;
  height?: number;
  /** Print each bar's value above it. */
  labels?: boolean;
}

/** A grouped bar chart: one group per x label, one bar per series in each group. */
export function barChart(c: BarChart): Image {
  const W = c.width ?? 800,
    H = c.height ?? 480;
  const img = new Image(W, H);
  const left = 70,
    right = 20,
    top = c.subtitle ? 56 : 44,
    bottom = 70;
  const pw = W - left - right,
    ph = H - top - bottom;
  drawText(img, left, 12, c.title, INK, 2);
  if (c.subtitle) drawText(img, left, 34, c.subtitle, [90, 90, 90]);
  const all = c.series
    .flatMap((s) => s.values)
    .filter((v): v is number => v !== null && Number.isFinite(v) && (!c.log || v > 0));
  let lo = 0,
    hi = all.length ? Math.max(...all) : 1;
  if (hi <= 0) hi = 1;
  let y: (v: number) => number;
  const ticks: number[] = [];
  if (c.log) {
    const mn = all.length ? Math.min(...all) : 1;
    lo = Math.floor(Math.log10(mn));
    hi = Math.ceil(Math.log10(hi));
    if (hi === lo) hi = lo + 1;
    y = (v) => top + ph - ((Math.log10(v) - lo) / (hi - lo)) * ph;
    for (let e = lo; e <= hi; e++) ticks.push(Math.pow(10, e));
  } else {
    const step = niceStep(hi, 5);
    hi = Math.ceil((hi * 1.08) / step) * step;
    y = (v) => top + ph - (v / hi) * ph;
    for (let t = 0; t <= hi + step / 2; t += step) ticks.push(t);
  }
  for (const t of ticks) {
    const ty = Math.round(y(t));
    img.rect(left, ty, pw, 1, GRID);
    drawTextRight(img, left - 6, ty - 3, fmtNum(t));
  }
  // axes
  img.rect(left, top, 1, ph + 1, INK);
  img.rect(left, top + ph, pw, 1, INK);
  // y label, written vertically character by character
  const yl = c.yLabel.toUpperCase();
  for (let i = 0; i < yl.length && 12 + i * 9 < H; i++) drawText(img, 4, top + i * 9, yl[i]);
  // bars
  const ng = Math.max(1, c.groups.length),
    ns = Math.max(1, c.series.length);
  const gw = pw / ng;
  const bw = Math.max(2, Math.floor((gw * 0.75) / ns));
  c.groups.forEach((g, gi) => {
    const gx = left + gi * gw + (gw - bw * ns) / 2;
    c.series.forEach((s, si) => {
      const v = s.values[gi];
      const color = s.color ?? PALETTE[si % PALETTE.length];
      if (v === null || v === undefined || !Number.isFinite(v) || (c.log && v <= 0)) {
        drawText(img, gx + si * bw + bw / 2 - 2, top + ph - 9, '-', [150, 150, 150]);
        return;
      }
      const base = c.log ? top + ph : y(0);
      const yt = y(v);
      img.rect(gx + si * bw, yt, bw - 1, base - yt, color);
      if (c.labels !== false) {
        const t = fmtNum(v);
        const tw = textWidth(t);
        if (tw <= bw + 8 || ns * ng <= 8) drawText(img, gx + si * bw + (bw - tw) / 2, Math.max(top - 9, yt - 10), t);
      }
    });
    // group label, truncated to its slot
    const maxChars = Math.max(3, Math.floor(gw / 6));
    const lbl = g.length > maxChars ? g.slice(0, maxChars - 1) + '.' : g;
    drawText(img, left + gi * gw + (gw - textWidth(lbl)) / 2, top + ph + 8, lbl);
  });
  // legend
  let lx = left;
  const ly = H - 24;
  c.series.forEach((s, si) => {
    img.rect(lx, ly, 12, 9, s.color ?? PALETTE[si % PALETTE.length]);
    drawText(img, lx + 16, ly + 1, s.name);
    lx += 16 + textWidth(s.name) + 24;
  });
  return img;
}
