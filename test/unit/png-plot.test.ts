// The PNG writer and the bar-chart plotter of the reports.
import zlib from 'node:zlib';
import t from 'tap';
import { barChart } from '../../ts/util/plot.js';
import { crc32, Image, readPng } from '../../ts/util/png.js';

t.test('CRC-32 of the PNG spec (check value of "123456789")', (t) => {
  t.equal((crc32(Buffer.from('123456789')) ^ 0xffffffff) >>> 0, 0xcbf43926);
  t.end();
});

t.test('an image round-trips: size, header, and the pixels in the IDAT stream', (t) => {
  const w = 7,
    h = 3;
  const img = new Image(w, h);
  img.set(0, 0, [255, 0, 0]);
  img.set(6, 2, [1, 2, 3]);
  const png = img.toPng();
  const info = readPng(png);
  t.same([info.width, info.height, info.bitDepth, info.colorType], [w, h, 8, 2]);
  t.same(info.chunks, ['IHDR', 'IDAT', 'IEND']);
  // IDAT: one filter byte per row, then RGB.
  const idatAt = png.indexOf('IDAT');
  const len = png.readUInt32BE(idatAt - 4);
  const raw = zlib.inflateSync(png.subarray(idatAt + 4, idatAt + 4 + len));
  t.equal(raw.length, h * (1 + 3 * w));
  t.same([...raw.subarray(1, 4)], [255, 0, 0], 'pixel (0, 0)');
  const last = 2 * (1 + 3 * w) + 1 + 3 * 6;
  t.same([...raw.subarray(last, last + 3)], [1, 2, 3], 'pixel (6, 2)');
  t.end();
});

t.test('a bar chart is an RGB PNG with its colours; corrupt files are refused', (t) => {
  const img = barChart({
    title: 'Test 123',
    yLabel: 'x',
    groups: ['a', 'b'],
    series: [
      { name: 'one', values: [1, 2] },
      { name: 'two', values: [3, null] },
    ],
    width: 320,
    height: 200,
  });
  const info = readPng(img.toPng());
  t.same([info.width, info.height, info.bitDepth, info.colorType], [320, 200, 8, 2]);
  t.ok(info.colors >= 4, `${info.colors} colours`);
  const png = img.toPng();
  png[png.length - 20] ^= 0xff; // corrupt a byte inside the last chunks
  t.throws(() => readPng(png), /bad CRC|incorrect|invalid/i);
  t.throws(() => readPng(Buffer.from('GIF89a')), /not a PNG/);
  t.end();
});
