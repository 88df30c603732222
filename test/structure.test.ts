// The shape of backend/, read from the sources alone (no build needed):
//  - layers: device/ (common, rocket, sim, sim/core) and hw/ never include the regcmd builder; hw/ includes
//    nothing from the layers above it; the builder and the software NPU do not include each other;
//  - one definition per hardware fact: for each unified constant, exactly one #define / enum member /
//    const / timing-table entry across backend/ gives its value under a name of that kind.
// Both checks are first run on a small made-up tree that breaks them, so they are known to bite.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const backendDir = path.join(repo, 'backend');

/** Sources by path relative to backend/ (forward slashes). */
type Tree = Map<string, string>;

function readTree(dir: string): Tree {
  const tree: Tree = new Map();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(c|h|cpp)$/.test(e.name))
        tree.set(path.relative(dir, p).split(path.sep).join('/'), fs.readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return tree;
}

// ---- layers ----

/** Where a quoted include lands: the file next to the includer, else the one file of the tree whose path
 * ends with it; null for headers from outside backend/ (ggml, system); 'ambiguous' when several match. */
function resolveInclude(tree: Tree, from: string, spec: string): string | null {
  const local = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  if (tree.has(local)) return local;
  const hits = [...tree.keys()].filter((f) => f === spec || f.endsWith(`/${spec}`));
  if (hits.length > 1) return 'ambiguous';
  return hits[0] ?? null;
}

interface IncludeEdge {
  from: string;
  spec: string;
  to: string | null;
}

function includeEdges(tree: Tree): IncludeEdge[] {
  const edges: IncludeEdge[] = [];
  for (const [from, text] of tree)
    for (const m of text.matchAll(/^\s*#\s*include\s+"([^"]+)"/gm))
      edges.push({ from, spec: m[1], to: resolveInclude(tree, from, m[1]) });
  return edges;
}

const under = (file: string | null, dir: string): boolean => file !== null && file.startsWith(`${dir}/`);
const isBuilder = (e: IncludeEdge): boolean => under(e.to, 'regcmd') || path.posix.basename(e.spec) === 'regcmd.h';

/** Every include that breaks the layering, as "from -> spec (why)". */
function layerViolations(tree: Tree): string[] {
  const bad: string[] = [];
  for (const e of includeEdges(tree)) {
    const edge = `${e.from} -> "${e.spec}"`;
    if (e.to === 'ambiguous') bad.push(`${edge} (matches several files)`);
    if ((under(e.from, 'device') || under(e.from, 'hw')) && isBuilder(e))
      bad.push(`${edge} (device/ and hw/ stand below the regcmd builder)`);
    if (under(e.from, 'hw') && !under(e.to, 'hw')) bad.push(`${edge} (hw/ includes only hw/ and system headers)`);
    if (under(e.from, 'regcmd') && under(e.to, 'device'))
      bad.push(`${edge} (the builder and the software NPU do not include each other)`);
  }
  return bad;
}

// ---- definitions ----

interface Definition {
  file: string;
  name: string;
  value: bigint;
}

/** An integer literal (dec or hex, C suffixes, parentheses) or a shift of two; null for anything else. */
function literalValue(expr: string): bigint | null {
  const s = expr
    .trim()
    .replace(/^\((.*)\)$/, '$1')
    .trim();
  const num = /^(0x[0-9a-f]+|\d+)(?:u|l|ul|ull|ll|llu)?$/i.exec(s);
  if (num) return BigInt(num[1]);
  const shift = /^(.+?)\s*<<\s*(.+)$/.exec(s);
  if (shift) {
    const a = literalValue(shift[1]);
    const b = literalValue(shift[2]);
    return a !== null && b !== null ? a << b : null;
  }
  return null;
}

function definitions(tree: Tree): Definition[] {
  const defs: Definition[] = [];
  const add = (file: string, name: string, expr: string): void => {
    const value = literalValue(expr);
    if (value !== null) defs.push({ file, name, value });
  };
  for (const [file, raw] of tree) {
    const text = raw.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/.*$/gm, '');
    for (const m of text.matchAll(/^\s*#\s*define\s+([A-Za-z_]\w*)[ \t]+(.+)$/gm)) add(file, m[1], m[2]);
    for (const m of text.matchAll(/\benum\b[^{;]*\{([^}]*)\}/g))
      for (const item of m[1].matchAll(/([A-Za-z_]\w*)\s*=\s*([^,]+)/g)) add(file, item[1], item[2]);
    for (const m of text.matchAll(/\b(?:const|constexpr)\b[^=;(){}]*?\b([A-Za-z_]\w*)\s*=\s*([^;,{}]+);/g))
      add(file, m[1], m[2]);
    // the timing MODEL's parameter table: [NPU_MODEL_X] = {"name", value, "unit", "source"}
    for (const m of text.matchAll(/\[\s*([A-Za-z_]\w*)\s*\]\s*=\s*\{\s*"[^"]*"\s*,\s*([^,]+),/g)) add(file, m[1], m[2]);
  }
  return defs;
}

interface Fact {
  fact: string;
  value: bigint;
  /** Names that would define this fact again; a definition of the value under such a name counts. */
  kind: RegExp;
  /** The one definition, or null when the value must not be spelled out at all (derived elsewhere). */
  home: { name: string; file: string } | null;
}

const facts: Fact[] = [
  { fact: 'regcmd marker target', value: 0x41n, kind: /./, home: { name: 'NPU_TGT_MARKER', file: 'hw/npu_regs.h' } },
  { fact: 'marker entry as a word', value: 0x0041000000000000n, kind: /./, home: null },
  { fact: 'op-enable target', value: 0x81n, kind: /./, home: { name: 'NPU_TGT_OP_EN', file: 'hw/npu_regs.h' } },
  {
    fact: 'regcmd tail entries',
    value: 4n,
    kind: /TAIL/,
    home: { name: 'NPU_REGCMD_TAIL_ENTRIES', file: 'hw/npu_regs.h' },
  },
  {
    fact: 'tasks per kick / job (12-bit TASK_NUMBER)',
    value: 4095n,
    kind: /./,
    home: { name: 'NPU_TASKS_PER_KICK_MAX', file: 'hw/npu_limits.h' },
  },
  { fact: 'NPU cores', value: 3n, kind: /CORES$/, home: { name: 'NPU_CORES', file: 'hw/npu_limits.h' } },
  {
    fact: 'mainline clock (200 MHz)',
    value: 200n,
    kind: /MHZ|CLOCK/,
    home: { name: 'NPU_CLOCK_MAINLINE_MHZ', file: 'hw/npu_limits.h' },
  },
  {
    fact: 'vendor clock (1 GHz)',
    value: 1000n,
    kind: /MHZ|CLOCK/,
    home: { name: 'NPU_CLOCK_VENDOR_MHZ', file: 'hw/npu_limits.h' },
  },
  {
    fact: 'model clock bound',
    value: 2000n,
    kind: /MHZ|CLOCK/,
    home: { name: 'NPU_MODEL_CLOCK_MHZ_MAX', file: 'device/npu_device.h' },
  },
  {
    fact: 'job timeout (500 ms)',
    value: 500n,
    kind: /TIMEOUT/,
    home: { name: 'ROCKET_UAPI_JOB_TIMEOUT_MS', file: 'device/rocket_uapi.h' },
  },
  { fact: 'job timeout in us', value: 500000n, kind: /TIMEOUT/, home: null },
  { fact: 'job timeout in ns', value: 500000000n, kind: /TIMEOUT/, home: null },
  { fact: 'address alignment', value: 16n, kind: /ALIGN/, home: { name: 'NPU_ADDR_ALIGN', file: 'hw/npu_limits.h' } },
  {
    fact: '32-bit IOVA space',
    value: 1n << 32n,
    kind: /./,
    home: { name: 'NPU_IOVA_SPACE', file: 'hw/npu_limits.h' },
  },
  {
    fact: 'int8 kernel group',
    value: 32n,
    kind: /KGROUP|KERNEL_GROUP|N_UNIT/,
    home: { name: 'NPU_KGROUP_INT8', file: 'hw/npu_limits.h' },
  },
  { fact: 'CBUF banks', value: 12n, kind: /BANKS$/, home: { name: 'NPU_CBUF_BANKS', file: 'hw/npu_limits.h' } },
  {
    fact: 'int8 large-K feature grains',
    value: 30n,
    kind: /GRAINS/,
    home: { name: 'NPU_I8_LARGE_KPAD_GRAINS', file: 'hw/npu_limits.h' },
  },
  {
    fact: 'default RKNPU_MIN_BATCH',
    value: 8n,
    kind: /MIN_BATCH/,
    home: { name: 'RKNPU_DEFAULT_MIN_BATCH', file: 'plugin/rknpu-config.cpp' },
  },
  {
    fact: 'rows per rk_gemm_run',
    value: 65535n,
    kind: /(^|_)M_MAX$/,
    home: { name: 'RK_GEMM_M_MAX', file: 'gemm/rk_gemm.h' },
  },
];

/** For each fact that is not defined exactly once, where it is: "fact: NAME (file), ..." */
function duplicateFacts(tree: Tree): string[] {
  const defs = definitions(tree);
  const bad: string[] = [];
  for (const f of facts) {
    const hits = defs.filter((d) => d.value === f.value && f.kind.test(d.name));
    const ok = f.home
      ? hits.length === 1 && hits[0].name === f.home.name && hits[0].file === f.home.file
      : hits.length === 0;
    if (!ok) bad.push(`${f.fact}: ${hits.map((d) => `${d.name} (${d.file})`).join(', ') || 'no definition'}`);
  }
  return bad;
}

// ---- the checks bite: a made-up tree that breaks every rule ----

t.test('the checks find what they look for', (t) => {
  const made: Tree = new Map([
    ['hw/npu_regs.h', '#define NPU_TGT_MARKER 0x0041u\n#include "../device/npu_device.h"\n'],
    ['hw/npu_limits.h', 'enum { NPU_CORES = 3, X = 1 };\nconst unsigned NPU_ADDR_ALIGN = 16;\n#include "ggml.h"\n'],
    ['regcmd/regcmd.h', '#define RK_TAIL (4)\n#include "npusim.h"\n'],
    ['device/npu_device.h', '#define MY_IOVA (1ull << 32)\n'],
    ['device/sim/core/npusim.h', '#include "regcmd.h"\n#define SIM_CORES 3 /* again */\n'],
    ['device/npu_timing.c', 'x[] = {\n  [NPU_MODEL_CORES] = {"cores", 3, "", "src"},\n};\n'],
  ]);
  const layers = layerViolations(made).join('\n');
  t.match(layers, /hw\/npu_regs\.h -> "\.\.\/device\/npu_device\.h" \(hw\/ includes only/, 'hw including device/');
  t.match(layers, /hw\/npu_limits\.h -> "ggml\.h" \(hw\/ includes only/, 'hw including an outside header');
  t.match(
    layers,
    /device\/sim\/core\/npusim\.h -> "regcmd\.h" \(device\/ and hw\//,
    'the sim core including the builder',
  );
  t.match(
    layers,
    /regcmd\/regcmd\.h -> "npusim\.h" \(the builder and the software NPU/,
    'the builder including the sim',
  );
  const defs = definitions(made);
  const find = (name: string): bigint | undefined => defs.find((d) => d.name === name)?.value;
  t.equal(find('NPU_TGT_MARKER'), 0x41n, '#define with a hex literal');
  t.equal(find('NPU_CORES'), 3n, 'enum member');
  t.equal(find('NPU_ADDR_ALIGN'), 16n, 'const');
  t.equal(find('RK_TAIL'), 4n, 'parenthesised #define');
  t.equal(find('MY_IOVA'), 1n << 32n, 'shift');
  t.equal(find('NPU_MODEL_CORES'), 3n, 'timing-table entry');
  const dups = duplicateFacts(made).join('\n');
  t.match(
    dups,
    /NPU cores: NPU_CORES \(hw\/npu_limits\.h\), SIM_CORES .*NPU_MODEL_CORES/,
    'a core count defined thrice',
  );
  t.match(dups, /regcmd tail entries: RK_TAIL \(regcmd\/regcmd\.h\)/, 'a tail size in the wrong place');
  t.end();
});

// ---- backend/ as it is ----

const tree = readTree(backendDir);

t.test('layers: hw/ at the bottom, the builder and the software NPU side by side on it', (t) => {
  t.ok(tree.size > 50, `${tree.size} C/C++ files under backend/`);
  t.ok(
    [...tree.keys()].some((f) => f.startsWith('hw/')) && [...tree.keys()].some((f) => f.startsWith('device/sim/core/')),
    'hw/ and device/sim/core/ exist',
  );
  t.same(layerViolations(tree), [], 'no include crosses the layers');
  t.end();
});

t.test('one definition per hardware fact', (t) => {
  t.same(duplicateFacts(tree), [], 'each unified fact has exactly one definition, in its home');
  t.end();
});
