// Every citation in the code can be followed inside the repository. Over backend/, ts/, test/, scripts/ and
// kernel/ (this file apart, it has to spell the bad cases):
//  - no mention of the outside documents the facts were first collected in (the hardware facts now live
//    in docs/hardware/, docs/npu-mainline-status.md and docs/style.md);
//  - every `§N[.M]` on a line follows, on the same line, the path of a Markdown file of the repository
//    (`docs/hardware/limits.md §3, §5`), and that file has a heading numbered N[.M] (`## 3. …`,
//    `### 5.2 …`). A Markdown file may cite its own sections bare; in TypeScript a constant that holds a
//    Markdown path (`${STATUS_DOC} §12`) counts as that path.
// The checker is first run on planted bad citations, so it is known to bite.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { repo } from '../helpers.js';

const SCANNED_DIRS = ['backend', 'ts', 'test', 'scripts', 'kernel'];
const SKIPPED_DIRS = new Set(['node_modules', 'build', 'dist', '.git']);
const SELF = path
  .relative(repo, fileURLToPath(import.meta.url))
  .split(path.sep)
  .join('/');

/** The documents of the shared reference the code used to cite; none of them is in the repository. */
const OUTSIDE_DOCS = [
  'npu-registers',
  'rocket-uapi',
  'ggml-backend-guide',
  'peers-and-numbers',
  'mainline-status',
  'rocket-peers',
  'shared/reference',
  'style.md',
];

/** A token that names a Markdown file: `docs/hardware/limits.md`, `../docs/style.md`, `README.md`. */
const MD_PATH = /[A-Za-z0-9_.\/-]*[A-Za-z0-9_-]\.md\b/g;
/** A section sign and the section number after it, if any. */
const SECTION = /§(\d+(?:\.\d+)*)?/g;
/** A TypeScript constant that holds a Markdown path: `export const STATUS_DOC = 'docs/….md';`. */
const MD_CONSTANT = /\bconst\s+([A-Z][A-Z0-9_]*)\s*=\s*'([^']+\.md)'/g;
/** A numbered Markdown heading: `## 5. Title`, `### 5.2 Title`. */
const NUMBERED_HEADING = /^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s/;

/** Repository Markdown files by repository-relative path: the section numbers of their headings. */
class DocIndex {
  private readonly cache = new Map<string, Set<string> | null>();

  /** The repository-relative path a mention in `fromFile` refers to, or null when no such file exists. */
  resolve(fromFile: string, mention: string): string | null {
    const bases = mention.startsWith('.') ? [path.posix.dirname(fromFile)] : ['', path.posix.dirname(fromFile)];
    for (const base of bases) {
      const rel = path.posix.normalize(path.posix.join(base, mention));
      if (!rel.startsWith('..') && this.sections(rel) !== null) return rel;
    }
    return null;
  }

  /** Section numbers of a repository Markdown file (headings inside code fences do not count). */
  sections(rel: string): Set<string> | null {
    if (!this.cache.has(rel)) {
      const file = path.join(repo, rel);
      let found: Set<string> | null = null;
      if (fs.existsSync(file) && fs.statSync(file).isFile()) {
        found = new Set();
        let fenced = false;
        for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
          if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
          const m = fenced ? null : NUMBERED_HEADING.exec(line);
          if (m) found.add(m[1]);
        }
      }
      this.cache.set(rel, found);
    }
    return this.cache.get(rel) ?? null;
  }
}

/** Markdown paths held by TypeScript constants, by constant name. */
function mdConstants(sources: string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const text of sources) for (const m of text.matchAll(MD_CONSTANT)) found.set(m[1], m[2]);
  return found;
}

/** Problems in one file's text, as `file:line: what`. */
function checkText(file: string, text: string, docs: DocIndex, constants = new Map<string, string>()): string[] {
  const problems: string[] = [];
  const selfIsDoc = file.endsWith('.md');
  text.split('\n').forEach((raw, i) => {
    const at = `${file}:${i + 1}`;
    const line = file.endsWith('.ts')
      ? raw.replace(/\$\{(\w+)\}/g, (s, name: string) => constants.get(name) ?? s)
      : raw;
    // Paths of real repository files are fine even when they contain an outside document's name
    // (docs/hardware/rocket-uapi.md, docs/npu-mainline-status.md, docs/style.md).
    const mentions = [...line.matchAll(MD_PATH)].map((m) => ({
      index: m.index,
      end: m.index + m[0].length,
      doc: docs.resolve(file, m[0]),
      text: m[0],
    }));
    let rest = line;
    for (const m of [...mentions].reverse())
      if (m.doc !== null) rest = rest.slice(0, m.index) + ' '.repeat(m.end - m.index) + rest.slice(m.end);
    for (const name of OUTSIDE_DOCS)
      if (rest.includes(name)) problems.push(`${at}: cites '${name}', a document outside the repository`);

    for (const s of line.matchAll(SECTION)) {
      const before = mentions.filter((m) => m.end <= s.index).pop();
      if (s[1] === undefined) {
        problems.push(`${at}: '§' without a section number`);
      } else if (before === undefined) {
        if (!selfIsDoc) problems.push(`${at}: bare '${s[0]}': name the docs/….md file before it on the line`);
        else if (!docs.sections(file)?.has(s[1])) problems.push(`${at}: ${file} has no section ${s[1]}`);
      } else if (before.doc === null) {
        problems.push(`${at}: '${s[0]}' cites ${before.text}, which is not a file of the repository`);
      } else if (!docs.sections(before.doc)?.has(s[1])) {
        problems.push(`${at}: ${before.doc} has no heading numbered ${s[1]}`);
      }
    }
  });
  return problems;
}

/** Text files under the scanned directories, repository-relative with forward slashes. */
function scannedFiles(): string[] {
  const files: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(repo, rel), { withFileTypes: true })) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (!SKIPPED_DIRS.has(e.name)) walk(child);
      } else if (e.isFile() && child !== SELF) files.push(child);
    }
  };
  for (const dir of SCANNED_DIRS) walk(dir);
  return files.sort();
}

function checkRepository(docs: DocIndex): string[] {
  const texts = new Map<string, string>();
  for (const file of scannedFiles()) {
    const bytes = fs.readFileSync(path.join(repo, file));
    if (!bytes.includes(0)) texts.set(file, bytes.toString('utf8')); // binaries have no citations
  }
  const constants = mdConstants([...texts].filter(([file]) => file.endsWith('.ts')).map(([, text]) => text));
  return [...texts].flatMap(([file, text]) => checkText(file, text, docs, constants));
}

t.test('the checker finds planted bad citations', (t) => {
  const docs = new DocIndex();
  const check = (file: string, line: string): string[] => checkText(file, line, docs);
  const finds = (file: string, line: string, want: RegExp, what: string): void => {
    t.match(check(file, line).join('\n'), want, what);
  };

  finds('backend/x.c', '/* K <= 8192 (npu-registers §6.3) */', /cites 'npu-registers'/, 'an outside document');
  finds('backend/x.c', '/* per fd (rocket-uapi §1.4) */', /cites 'rocket-uapi'/, 'rocket-uapi without docs/hardware/');
  finds('ts/x.ts', '// see mainline-status §6.1', /cites 'mainline-status'/, 'mainline-status without docs/npu-');
  finds('backend/x.cpp', '// ggml-backend-guide.md §2.3', /cites 'ggml-backend-guide'/, 'the ggml guide');
  finds('scripts/x.sh', '# see ../shared/reference/x.md', /cites 'shared\/reference'/, 'the shared reference');
  finds('backend/x.cpp', '// as in ggml (style.md)', /cites 'style\.md'/, 'style.md without docs/');
  finds('backend/x.c', '/* tail (§3.2) */', /bare '§3\.2'/, 'a bare section');
  finds('backend/x.c', '/* (npu-registers §6.3) */', /bare '§6\.3'/, 'an outside document is no path');
  finds('backend/x.c', 'strstr(err, "§")', /without a section number/, 'a lone section sign');
  finds('backend/x.c', '/* (docs/hardware/limits.md §42) */', /limits\.md has no heading numbered 42/, 'no section');
  finds('backend/x.c', '/* (docs/hardware/limits.md §3, §6.9) */', /no heading numbered 6\.9/, 'the second section');
  finds('backend/x.c', '/* (docs/hardware/nowhere.md §1) */', /not a file of the repository/, 'no such file');
  finds('kernel/README.md', 'see §99', /kernel\/README\.md has no section 99/, "a Markdown file's own section");
  t.same(check('backend/x.c', '/* (docs/hardware/limits.md §3, §42) */').length, 1, 'one problem per bad section');
  const constants = mdConstants(["export const KREADME = 'kernel/README.md';"]);
  t.match(
    checkText('ts/x.ts', '`see ${KREADME} §99`', docs, constants).join('\n'),
    /kernel\/README\.md has no heading/,
    'a constant holding a path, wrong section',
  );
  t.match(checkText('ts/x.ts', '`see ${NOT_A_DOC} §4`', docs, constants).join('\n'), /bare '§4'/, 'unknown constant');
  t.same(checkText('ts/x.ts', '`see ${KREADME} §3.4`', docs, constants), [], 'a constant holding a path');

  const good = '/* (docs/hardware/limits.md §3, §5 (HM); docs/hardware/regcmd.md §8.3 #67) */';
  t.same(check('backend/x.c', good), [], 'two files, peer tag, entry number');
  t.same(check('ts/x.ts', '`(docs/npu-mainline-status.md §1-§8 and §12, kernel/README.md §3.4)`'), [], 'ranges');
  t.same(check('kernel/README.md', 'see §3.4 and [`x`](../docs/npu-mainline-status.md) §6'), [], 'Markdown links');
  t.same(check('backend/x.c', '/* docs/hardware/rocket-uapi.md §1.4, docs/style.md §1 */'), [], 'real paths');
  t.same(check('backend/x.c', '/* (docs/hardware/limits.md §5) and §1 */'), [], 'later sections take the path');
  t.end();
});

t.test('every citation in the code points inside the repository', (t) => {
  const files = scannedFiles();
  t.ok(files.includes('backend/hw/npu_limits.h') && !files.includes(SELF), 'the scan sees the code, not itself');
  t.same(checkRepository(new DocIndex()), [], 'no outside document, no bare §, every cited section exists');
  t.end();
});
