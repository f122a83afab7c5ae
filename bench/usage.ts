// `npm run bench* -- --help`: a benchmark takes its options from the environment, not the command line, and
// a run lasts minutes. Asked for help, it prints the comment that opens its file and the environment
// variables the file reads (with their defaults, as written there) and exits without measuring anything.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The usage text of the benchmark at `moduleUrl`: its opening comment, then its environment variables. */
function benchUsage(moduleUrl: string): string {
  const source = readFileSync(fileURLToPath(moduleUrl), 'utf8');
  const lines = source.split('\n');
  const end = lines.findIndex((line) => !line.startsWith('//'));
  const comment = lines.slice(0, end).map((line) => line.replace(/^\/\/ ?/, ''));
  const variables = new Map<string, string>();
  for (const [, name, fallback] of source.matchAll(/process\.env\.([A-Z0-9_]+)(?: \?\? ([^);]+))?/g)) {
    // The benchmark's own options; POWERTOOLS_*, PATH and the like are the environment's.
    if (/^(BENCH_|NODE_BINARY$)/.test(name!)) variables.set(name!, fallback?.trim() ?? '(unset)');
  }
  const options = [...variables].map(([name, fallback]) => `  ${name.padEnd(20)} default: ${fallback}`);
  const environment = options.length > 0 ? options : ['  (none)'];
  return [...comment, '', 'Environment (the command line takes no options):', ...environment, ''].join('\n');
}

/** Prints the usage and ends the process when the command line asks for help; otherwise does nothing. */
export function exitWithUsageIfAsked(
  moduleUrl: string,
  argv: readonly string[] = process.argv.slice(2),
): void {
  if (!argv.some((arg) => arg === '--help' || arg === '-h')) return;
  process.stdout.write(benchUsage(moduleUrl));
  process.exit(0);
}
