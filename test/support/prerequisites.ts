import { execFileSync } from 'node:child_process';

/**
 * What `npm test` needs besides Node and npm: openssl (the certificate tests make a self-signed
 * certificate as an operator would), Debian's Authlib under the system Python (the interoperability
 * tests run it as a second, independent authorization server) and GnuCOBOL (the MAINFRAME.md samples
 * are compiled). The Debian package that provides each.
 */
const PREREQUISITES = [
  {
    what: 'openssl',
    debianPackage: 'openssl',
    present: (options: CheckOptions) => runs('openssl', ['version'], options.env),
  },
  {
    what: 'Authlib for /usr/bin/python3',
    debianPackage: 'python3-authlib',
    present: (options: CheckOptions) => runs(options.python, ['-c', 'import authlib'], options.env),
  },
  {
    what: 'GnuCOBOL (cobc)',
    debianPackage: 'gnucobol',
    present: (options: CheckOptions) => runs('cobc', ['--version'], options.env),
  },
] as const;

export interface CheckOptions {
  /** The interpreter test/support/authlib-server.ts runs. */
  readonly python: string;
  readonly env: NodeJS.ProcessEnv;
}

/** One line naming what is missing and how to install it; undefined when nothing is. */
export function missingPrerequisites(
  options: CheckOptions = { python: '/usr/bin/python3', env: process.env },
): string | undefined {
  const missing = PREREQUISITES.filter((prerequisite) => !prerequisite.present(options));
  if (missing.length === 0) return undefined;
  return (
    `npm test needs ${listed(missing.map((m) => m.what))}: ` +
    `apt-get install ${missing.map((m) => m.debianPackage).join(' ')} (Debian/Ubuntu; see README)`
  );
}

/** "a", "a and b", "a, b and c". */
function listed(names: string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

function runs(command: string, args: string[], env: NodeJS.ProcessEnv): boolean {
  try {
    execFileSync(command, args, { env, stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Vitest globalSetup: checks once, before any test file, and ends the whole run with one line and exit
 * code 1. Tests that need a missing tool are never skipped: a green run must have run them. (A thrown
 * error would work too, but vitest buries its line under "Unhandled Error" and "No test files found".)
 */
export default function checkPrerequisites(): void {
  const missing = missingPrerequisites();
  if (missing === undefined) return;
  process.stderr.write(`${missing}\n`);
  process.exit(1);
}
