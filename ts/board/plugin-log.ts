// The plugin's one load line in a stock tool's log (the stock tools cannot ask for its status):
// "RKNPU: RKNPU0 = <device>; ..." when it registered its device, "RKNPU: <why>; no device registered"
// when it did not.

export function pluginLoadLine(log: string): string | null {
  return /RKNPU: RKNPU0 = [^\n]*/.exec(log)?.[0] ?? null;
}

export function noDeviceReason(log: string): string | null {
  return /RKNPU: ([^\n]*); no device registered/.exec(log)?.[1] ?? null;
}
