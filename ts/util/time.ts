// Timestamps for results folders and reports.

/** UTC time as YYYYMMDD-HHMMSS, for folder names (sorts by time, no characters a shell cares about). */
export function stamp(at: Date = new Date()): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
}
