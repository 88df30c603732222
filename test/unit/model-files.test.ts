// The embedded default model's pieces: the GGUF writer (header, metadata, aligned tensor data),
// float to half conversion, and the byte-level BPE trainer.
import t from 'tap';
import { byteToUnicode, preTokenize, trainBpe } from '../../ts/model/bpe.js';
import { GGML_TYPE_F16, GGML_TYPE_F32, GgufWriter, toHalf } from '../../ts/model/gguf-writer.js';

t.test('toHalf: exact values, rounding to nearest even, overflow, underflow, NaN', (t) => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest half
    [65520, 0x7c00], // rounds up to infinity
    [1e6, 0x7c00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -26, 0x0000], // underflows
    [6.1035156e-5, 0x0400], // smallest normal
    [1 + 2 ** -11, 0x3c00], // tie: to even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // tie: to even (up)
    [1 + 2 ** -10 + 2 ** -12, 0x3c01], // below the tie: down
  ];
  for (const [x, h] of cases) t.equal(toHalf(x), h, `${x} -> 0x${h.toString(16)}`);
  t.equal(toHalf(NaN) & 0x7c00, 0x7c00, 'NaN keeps the all-ones exponent');
  t.not(toHalf(NaN) & 0x3ff, 0, 'and a non-zero mantissa');
  t.end();
});

t.test('GGUF v3: header, key/values in order, tensor infos, data aligned to 32', (t) => {
  const w = new GgufWriter()
    .str('general.architecture', 'qwen2')
    .u32('qwen2.block_count', 2)
    .strArray('tokenizer.ggml.tokens', ['a', 'bc'])
    .tensor('t0', [3, 1], new Float32Array([1, -2, 0.5]), GGML_TYPE_F32)
    .tensor('t1', [2], new Float32Array([1, -2]), GGML_TYPE_F16);
  const b = w.toBuffer();
  let o = 0;
  const u32 = () => ((o += 4), b.readUInt32LE(o - 4));
  const u64 = () => ((o += 8), Number(b.readBigUInt64LE(o - 8)));
  const str = () => {
    const n = u64();
    o += n;
    return b.toString('utf8', o - n, o);
  };
  t.equal(b.toString('ascii', 0, 4), 'GGUF');
  o = 4;
  t.same([u32(), u64(), u64()], [3, 2, 3], 'version, tensors, key/values');
  t.same([str(), u32(), str()], ['general.architecture', 8, 'qwen2']);
  t.same([str(), u32(), u32()], ['qwen2.block_count', 4, 2]);
  t.same([str(), u32(), u32(), u64(), str(), str()], ['tokenizer.ggml.tokens', 9, 8, 2, 'a', 'bc']);
  t.same([str(), u32(), u64(), u64(), u32(), u64()], ['t0', 2, 3, 1, GGML_TYPE_F32, 0]);
  t.same(
    [str(), u32(), u64(), u32(), u64()],
    ['t1', 1, 2, GGML_TYPE_F16, 32],
    't1 starts at the next 32-byte boundary',
  );
  const data = Math.ceil(o / 32) * 32;
  t.same([b.readFloatLE(data), b.readFloatLE(data + 4), b.readFloatLE(data + 8)], [1, -2, 0.5]);
  t.same([b.readUInt16LE(data + 32), b.readUInt16LE(data + 34)], [0x3c00, 0xc000]);
  t.equal(b.length % 32, 0, 'padded to the alignment');
  t.throws(() => new GgufWriter().tensor('x', [2, 2], new Float32Array(3)), /3 values for shape 2,2/);
  t.end();
});

t.test('BPE: a byte bijection, GPT-2 style pre-tokens, the most frequent pair merged first', (t) => {
  const b2u = byteToUnicode();
  t.equal(new Set(b2u).size, 256, '256 distinct symbols');
  t.equal(b2u[0x41], 'A', 'printable bytes map to themselves');
  t.equal(b2u[0x20], 'Ġ', 'space maps to Ġ, as in GPT-2');
  t.same(preTokenize('Hi there, 42!'), ['Hi', ' there', ',', ' ', '4', '2', '!']);
  const bpe = trainBpe('ab ab ab abc', 3);
  t.same(bpe.merges, ['a b', 'Ġ ab'], 'the most frequent pair first; a pair seen once is not merged');
  t.same(bpe.tokens.slice(256), ['ab', 'Ġab']);
  t.same(trainBpe('cd cd ab ab', 1).merges, ['a b'], 'equal counts: the smaller pair');
  t.equal(trainBpe('x', 5).merges.length, 0, 'nothing to merge');
  t.end();
});
