/** Screenshot checks against committed baselines: a shot must differ from its baseline in at most
 * a small share of pixels (font hinting may move a few). UPDATE_BASELINES=1 rewrites them. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PNG } from 'pngjs';

export const ARTIFACTS = join(__dirname, '..', 'screenshots');

export interface Comparison {
  differing: number;
  total: number;
  ratio: number;
}

/** Pixels whose colour differs by more than `threshold` (0..255 per channel, summed) count. */
export function comparePng(a: Buffer, b: Buffer, threshold = 48): Comparison {
  const x = PNG.sync.read(a);
  const y = PNG.sync.read(b);
  if (x.width !== y.width || x.height !== y.height) return { differing: Infinity, total: x.width * x.height, ratio: 1 };
  let differing = 0;
  for (let i = 0; i < x.data.length; i += 4) {
    const d = Math.abs(x.data[i]! - y.data[i]!) + Math.abs(x.data[i + 1]! - y.data[i + 1]!) + Math.abs(x.data[i + 2]! - y.data[i + 2]!);
    if (d > threshold) differing++;
  }
  const total = x.width * x.height;
  return { differing, total, ratio: differing / total };
}

/** How many distinct colours a shot has: a blank or unstyled render has very few. */
export function colourCount(png: Buffer): number {
  const image = PNG.sync.read(png);
  const colours = new Set<number>();
  for (let i = 0; i < image.data.length; i += 4) colours.add((image.data[i]! << 16) | (image.data[i + 1]! << 8) | image.data[i + 2]!);
  return colours.size;
}

/** Saves the shot next to the test output and compares it with the baseline; returns a problem
 * in words, or undefined when it matches. */
export function checkAgainstBaseline(name: string, shot: Buffer, baselineDir: string, maxRatio = 0.01): string | undefined {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, `${name}.png`), shot);
  const baseline = join(baselineDir, `${name}.png`);
  if (process.env.UPDATE_BASELINES === '1' || !existsSync(baseline)) {
    mkdirSync(dirname(baseline), { recursive: true });
    writeFileSync(baseline, shot);
    return process.env.UPDATE_BASELINES === '1' ? undefined : `no baseline for ${name}; wrote ${baseline}, review and commit it`;
  }
  const result = comparePng(shot, readFileSync(baseline));
  if (result.ratio <= maxRatio) return undefined;
  return `${name}.png differs from its baseline in ${(result.ratio * 100).toFixed(2)}% of pixels (see ${join(ARTIFACTS, `${name}.png`)})`;
}
