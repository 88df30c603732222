// Write the embedded default model (F16) to the path given; setup quantizes it to Q4_K_M.
import { buildTinyQwen2 } from '../model/tiny-qwen2.js';

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: make-tiny-qwen2 OUT.gguf\n');
  process.exit(2);
}
buildTinyQwen2().write(out);
process.stdout.write(`wrote ${out}\n`);
