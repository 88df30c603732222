// The kit's version for reports and profiles: package version + the commit it was built from.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function kitVersion(repo: string): string {
  try {
    const sha = execFileSync('git', ['-C', repo, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
    return `${pkg.version}+${sha}`;
  } catch {
    return 'unknown';
  }
}
