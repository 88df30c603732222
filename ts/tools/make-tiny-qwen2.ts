// Write the embedded default model (F16) to the path given; setup quantizes it to Q4_K_M. With
// --qwen2.5-1.5b-shape: the same generator at Qwen2.5-1.5B's matmul shapes (scripts/project-prefill.sh).
import { buildTinyQwen2, DEFAULT_SHAPE, QWEN25_1_5B_SHAPE } from '../model/tiny-qwen2.js';

const args = process.argv.slice(2);
const full = args[0] === '--qwen2.5-1.5b-shape';
const out = full ? args[1] : args[0];
if (!out) {
  process.stderr.write('usage: make-tiny-qwen2 [--qwen2.5-1.5b-shape] OUT.gguf\n');
  process.exit(2);
}
buildTinyQwen2(full ? QWEN25_1_5B_SHAPE : DEFAULT_SHAPE).write(out);
process.stdout.write(`wrote ${out}\n`);
