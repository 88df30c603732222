// A tiny PNG encoder/decoder-of-headers: 8-bit RGB images, no native dependencies (node:zlib only).
import zlib from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Uint8Array, crc = 0xffffffff): number {
  for (let i = 0; i < buf.length; i++) crc = CRC_TABLE[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8);
  return crc >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((crc32(td) ^ 0xffffffff) >>> 0);
  return Buffer.concat([len, td, crc]);
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A raster of RGB pixels. */
export class Image {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    bg: [number, number, number] = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(bg, i * 3);
  }

  set(x: number, y: number, c: readonly [number, number, number]): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.data.set(c, (y * this.width + x) * 3);
  }

  rect(x0: number, y0: number, w: number, h: number, c: readonly [number, number, number]): void {
    const xa = Math.max(0, Math.round(x0)),
      ya = Math.max(0, Math.round(y0));
    const xb = Math.min(this.width, Math.round(x0 + w)),
      yb = Math.min(this.height, Math.round(y0 + h));
    for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) this.data.set(c, (y * this.width + x) * 3);
  }

  /** PNG bytes: signature, IHDR (8-bit RGB), one IDAT (filter 0 per row), IEND. */
  toPng(): Buffer {
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(this.width, 0);
    ihdr.writeUInt32BE(this.height, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // colour type: RGB
    ihdr[10] = 0; // compression
    ihdr[11] = 0; // filter
    ihdr[12] = 0; // no interlace
    const stride = this.width * 3;
    const raw = Buffer.alloc((stride + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (stride + 1)] = 0;
      raw.set(this.data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
    }
    return Buffer.concat([
      PNG_SIGNATURE,
      chunk('IHDR', ihdr),
      chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
      chunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

export interface PngInfo {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  /** Distinct RGB colours (only for 8-bit RGB, non-interlaced, filter 0 rows as written here; else -1). */
  colors: number;
  chunks: string[];
}

/** Read a PNG's chunks, check CRCs, and count colours of the images this module writes. */
export function readPng(buf: Buffer): PngInfo {
  if (buf.length < 8 || !buf.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG (bad signature)');
  let off = 8;
  const chunks: string[] = [];
  const idat: Buffer[] = [];
  let ihdr: Buffer | null = null;
  while (off + 12 <= buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('ascii', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    const crc = buf.readUInt32BE(off + 8 + len);
    if ((crc32(buf.subarray(off + 4, off + 8 + len)) ^ 0xffffffff) >>> 0 !== crc)
      throw new Error(`PNG chunk ${type}: bad CRC`);
    chunks.push(type);
    if (type === 'IHDR') ihdr = Buffer.from(data);
    if (type === 'IDAT') idat.push(Buffer.from(data));
    off += 12 + len;
    if (type === 'IEND') break;
  }
  if (!ihdr) throw new Error('PNG without IHDR');
  const width = ihdr.readUInt32BE(0),
    height = ihdr.readUInt32BE(4),
    bitDepth = ihdr[8],
    colorType = ihdr[9];
  let colors = -1;
  if (bitDepth === 8 && colorType === 2 && ihdr[12] === 0) {
    const raw = zlib.inflateSync(Buffer.concat(idat));
    const stride = width * 3;
    const seen = new Set<number>();
    let ok = true;
    for (let y = 0; y < height && ok; y++) {
      const row = y * (stride + 1);
      if (raw[row] !== 0) ok = false;
      for (let x = 0; ok && x < width; x++) {
        const p = row + 1 + x * 3;
        seen.add((raw[p] << 16) | (raw[p + 1] << 8) | raw[p + 2]);
      }
    }
    if (ok) colors = seen.size;
  }
  return { width, height, bitDepth, colorType, colors, chunks };
}
