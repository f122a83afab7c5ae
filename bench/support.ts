// Pieces the HTTP benchmarks share: ports (test/support/ports.ts), child processes started as npm start
// starts them, medians.
import { type ChildProcess, spawn } from 'node:child_process';

export { freePort } from '#test/support/ports.ts';

/**
 * Starts `script` under tsx on `port` with the demo caller's key, and resolves with its output up to and
 * including `marker` once that appears. The child's output keeps being drained by the listener: breaking
 * out of an async iteration would destroy the pipe, and an unread pipe would block its next log line.
 */
export async function startScript(
  script: string,
  port: number,
  apiKey: string,
  marker: string,
): Promise<{ child: ChildProcess; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: {
      ...process.env,
      PORT: String(port),
      DEMO_API_KEY: apiKey,
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const output = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk) => {
      if (text.includes(marker)) return;
      text += String(chunk);
      if (text.includes(marker)) resolve(text);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { child, output };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
