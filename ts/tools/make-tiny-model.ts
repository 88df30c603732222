// Write one tiny random-weight model of ts/model/tiny-archs.ts (F16) to the path given; the fixture
// script (scripts/make-fixture-models.sh) quantizes them. `--list` prints the names, `--text FILE` writes
// the text the fixtures are evaluated on (their BPE's own corpus, repeated).
import fs from 'node:fs';
import { buildTinyArch, tinyArch, TINY_ARCHS } from '../model/tiny-archs.js';
import { CORPUS } from '../model/tiny-common.js';

const EVAL_TEXT_REPEATS = 6; // > 2 x 4 windows of 256 tokens for llama-perplexity

const [name, out] = process.argv.slice(2);
if (name === '--list') {
  process.stdout.write(TINY_ARCHS.map((s) => `${s.name} ${s.arch} ${s.mirrors}`).join('\n') + '\n');
} else if (name === '--text' && out) {
  fs.writeFileSync(out, CORPUS.repeat(EVAL_TEXT_REPEATS));
} else if (name && out) {
  buildTinyArch(tinyArch(name)).write(out);
  process.stdout.write(`wrote ${out}\n`);
} else {
  process.stderr.write('usage: make-tiny-model NAME OUT.gguf | --list | --text OUT.txt\n');
  process.exit(2);
}
