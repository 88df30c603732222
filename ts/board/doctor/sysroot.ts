// Every read of /proc, /sys, /dev and /boot goes through a sysroot prefix (--root DIR or
// ROSENBLATT_SYSROOT) so tests can feed a fake board tree.
import fs from 'node:fs';
import path from 'node:path';

/** The sysroot: --root, else $ROSENBLATT_SYSROOT, else "/". */
export function sysroot(opt?: string): string {
  return path.resolve(opt || process.env.ROSENBLATT_SYSROOT || '/');
}

/** Reads under the sysroot; a missing or unreadable file is null, never an exception. */
export class Sysroot {
  constructor(readonly root: string) {}

  get live(): boolean {
    return this.root === '/';
  }
  p(abs: string): string {
    return path.join(this.root, abs);
  }
  exists(abs: string): boolean {
    return fs.existsSync(this.p(abs));
  }
  read(abs: string): string | null {
    try {
      return fs.readFileSync(this.p(abs), 'utf8');
    } catch {
      return null;
    }
  }
  readBytes(abs: string): Buffer | null {
    try {
      return fs.readFileSync(this.p(abs));
    } catch {
      return null;
    }
  }
  /** A device-tree string property: NULs removed. */
  dt(abs: string): string | null {
    const s = this.read(abs);
    return s === null ? null : s.replace(/\0+$/, '').replace(/\0/g, ' ').trim();
  }
  list(abs: string): string[] | null {
    try {
      return fs.readdirSync(this.p(abs)).sort();
    } catch {
      return null;
    }
  }
  link(abs: string): string | null {
    try {
      return fs.readlinkSync(this.p(abs));
    } catch {
      return null;
    }
  }
}
