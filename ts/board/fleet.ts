// fleet/<host>.yaml (fleet/SCHEMA.md): read the small YAML subset and replace the values of kit-owned
// keys line by line, keeping comments, order and every other line untouched.

export type Scalar = string | number | boolean | null;

/** Dotted key -> scalar for every `key: value` line (block mappings only; lists are skipped). */
export function readFleet(text: string): Map<string, Scalar> {
  const out = new Map<string, Scalar>();
  walk(text, (key, raw) => out.set(key, parseScalar(raw)));
  return out;
}

function walk(text: string, fn: (key: string, raw: string, lineNo: number) => void): void {
  const stack: string[] = [];
  let lastHasValue = false; // the previous key line held a scalar, so nothing may nest under it
  text.split('\n').forEach((line, i) => {
    if (/^\s*(#|$)/.test(line) || /^\s*- /.test(line)) return;
    const m = /^( *)([a-z0-9_]+):(?: (.*))?$/.exec(line);
    if (!m) throw new Error(`fleet file line ${i + 1} is outside the schema's YAML subset: ${JSON.stringify(line)}`);
    const depth = m[1].length / 2;
    if (!Number.isInteger(depth))
      throw new Error(`fleet file line ${i + 1}: indentation is not a multiple of two spaces`);
    if (depth > stack.length || (depth === stack.length && depth > 0 && lastHasValue))
      throw new Error(`fleet file line ${i + 1}: indented under ${lastHasValue ? 'a scalar' : 'no mapping'}`);
    stack.length = depth;
    stack.push(m[2]);
    lastHasValue = m[3] !== undefined && m[3] !== '';
    if (lastHasValue) fn(stack.join('.'), m[3] as string, i);
  });
}

export function parseScalar(raw: string): Scalar {
  const s = raw.trim();
  if (s === 'null') return null;
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (s.startsWith('"') && s.endsWith('"')) return s.slice(1, -1);
  return s;
}

/** A scalar as the schema wants it: strings double-quoted without escapes (quotes and backslashes dropped). */
export function formatScalar(v: Scalar): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isFinite(v) ? plainNumber(v) : 'null';
  return `"${v.replace(/["\\\n\r\t]/g, ' ')}"`;
}

/** A number in plain decimal notation: JavaScript writes very large and very small ones with an exponent
 * (1e-7), which the reader, like YAML, would take for a string. The digits stay the shortest exact ones. */
function plainNumber(v: number): string {
  const s = String(v);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const digits = m[2] + (m[3] ?? ''),
    point = 1 + Number(m[4]); // digits before the decimal point
  if (point <= 0) return `${m[1]}0.${'0'.repeat(-point)}${digits}`;
  return (
    m[1] +
    (point >= digits.length
      ? digits + '0'.repeat(point - digits.length)
      : `${digits.slice(0, point)}.${digits.slice(point)}`)
  );
}

/**
 * Replace the values of `updates` (dotted keys) in place. Keys that are not in the file are returned
 * in `missing` (the kit never adds or deletes lines itself).
 */
export function updateFleet(
  text: string,
  updates: Record<string, Scalar>,
): { text: string; written: string[]; missing: string[] } {
  const lines = text.split('\n');
  const written: string[] = [];
  walk(text, (key, _raw, i) => {
    if (!(key in updates)) return;
    const m = /^( *[a-z0-9_]+: )/.exec(lines[i])!;
    lines[i] = m[1] + formatScalar(updates[key]);
    written.push(key);
  });
  const missing = Object.keys(updates).filter((k) => !written.includes(k));
  return { text: lines.join('\n'), written, missing };
}
