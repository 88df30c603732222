// A small GGUF (version 3) writer: metadata key/values and F32/F16 tensors. Enough to make test
// models without Python; llama-quantize turns them into the quantized types users run.
import fs from 'node:fs';

const enum KvType {
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
}
export const GGML_TYPE_F32 = 0;
export const GGML_TYPE_F16 = 1;
const ALIGNMENT = 32; // general.alignment default

type KvValue =
  | { t: 'u32' | 'i32' | 'f32'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'str'; v: string }
  | { t: 'arr-str'; v: string[] }
  | { t: 'arr-i32' | 'arr-f32'; v: number[] };

interface TensorEntry {
  name: string;
  ne: number[];
  type: number;
  data: Buffer;
}

class ByteSink {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer) {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number) {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad(align: number) {
    const n = (align - (this.length % align)) % align;
    if (n) this.push(Buffer.alloc(n));
  }
  concat() {
    return Buffer.concat(this.parts);
  }
  /** Write the parts one by one: a model of billions of weights does not fit one Buffer. */
  writeTo(fd: number) {
    for (const p of this.parts) fs.writeSync(fd, p);
  }
}

// One scratch word for toHalf: a conversion of every weight of a 1.5B model must not allocate per value.
const halfScratch = new Float32Array(1);
const halfBits = new Uint32Array(halfScratch.buffer);

/** IEEE half from a JS number, round to nearest even. */
export function toHalf(x: number): number {
  halfScratch[0] = x;
  const u = halfBits[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1),
      half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

export class GgufWriter {
  private kv = new Map<string, KvValue>();
  private tensors: TensorEntry[] = [];

  u32(key: string, v: number) {
    this.kv.set(key, { t: 'u32', v });
    return this;
  }
  i32(key: string, v: number) {
    this.kv.set(key, { t: 'i32', v });
    return this;
  }
  f32(key: string, v: number) {
    this.kv.set(key, { t: 'f32', v });
    return this;
  }
  bool(key: string, v: boolean) {
    this.kv.set(key, { t: 'bool', v });
    return this;
  }
  str(key: string, v: string) {
    this.kv.set(key, { t: 'str', v });
    return this;
  }
  strArray(key: string, v: string[]) {
    this.kv.set(key, { t: 'arr-str', v });
    return this;
  }
  i32Array(key: string, v: number[]) {
    this.kv.set(key, { t: 'arr-i32', v });
    return this;
  }

  /** ne in ggml order: ne[0] is the contiguous (row) dimension. */
  tensor(name: string, ne: number[], values: Float32Array, type = GGML_TYPE_F32) {
    const n = ne.reduce((a, b) => a * b, 1);
    if (values.length !== n) throw new Error(`tensor ${name}: ${values.length} values for shape ${ne}`);
    let data: Buffer;
    if (type === GGML_TYPE_F32) {
      data = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    } else if (type === GGML_TYPE_F16) {
      const h = new Uint16Array(n);
      for (let i = 0; i < n; i++) h[i] = toHalf(values[i]);
      data = Buffer.from(h.buffer);
    } else {
      throw new Error(`tensor ${name}: unsupported type ${type}`);
    }
    this.tensors.push({ name, ne, type, data });
    return this;
  }

  toBuffer(): Buffer {
    return this.sink().concat();
  }

  private sink(): ByteSink {
    const s = new ByteSink();
    s.push(Buffer.from('GGUF', 'ascii'));
    s.u32(3);
    s.u64(this.tensors.length);
    s.u64(this.kv.size);
    for (const [key, val] of this.kv) {
      s.str(key);
      switch (val.t) {
        case 'u32':
          s.u32(KvType.U32);
          s.u32(val.v);
          break;
        case 'i32':
          s.u32(KvType.I32);
          s.i32(val.v);
          break;
        case 'f32':
          s.u32(KvType.F32);
          s.f32(val.v);
          break;
        case 'bool':
          s.u32(KvType.BOOL);
          s.push(Buffer.from([val.v ? 1 : 0]));
          break;
        case 'str':
          s.u32(KvType.STRING);
          s.str(val.v);
          break;
        case 'arr-str':
          s.u32(KvType.ARRAY);
          s.u32(KvType.STRING);
          s.u64(val.v.length);
          val.v.forEach((x) => s.str(x));
          break;
        case 'arr-i32':
          s.u32(KvType.ARRAY);
          s.u32(KvType.I32);
          s.u64(val.v.length);
          val.v.forEach((x) => s.i32(x));
          break;
        case 'arr-f32':
          s.u32(KvType.ARRAY);
          s.u32(KvType.F32);
          s.u64(val.v.length);
          val.v.forEach((x) => s.f32(x));
          break;
      }
    }
    let offset = 0;
    for (const t of this.tensors) {
      s.str(t.name);
      s.u32(t.ne.length);
      t.ne.forEach((d) => s.u64(d));
      s.u32(t.type);
      s.u64(offset);
      offset += t.data.length + ((ALIGNMENT - (t.data.length % ALIGNMENT)) % ALIGNMENT);
    }
    s.pad(ALIGNMENT);
    for (const t of this.tensors) {
      s.push(t.data);
      s.pad(ALIGNMENT);
    }
    return s;
  }

  write(file: string) {
    const fd = fs.openSync(file, 'w');
    try {
      this.sink().writeTo(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}
