import type { GatewayConfig } from '../config/schema.ts';
import { admissionLane } from '../oauth/token-exchanger.ts';
import type { Admission } from './admission.ts';

/** One target's admission as GET /v1/ready shows it (lib/http/schemas.ts documents the fields). */
export interface TargetAdmissionReport {
  readonly requests_per_second: number;
  readonly max_concurrent: number;
  /** ISO 8601 end of the back-off window the authorization server asked for; null when none is open. */
  readonly backoff_until: string | null;
  /** How far ahead the next free turn is (0: a request now goes at once). */
  readonly next_turn_in_ms: number;
  /** Token requests of this instance in flight to the server now. */
  readonly in_flight: number;
  /** true: the shared state (DynamoDB) answered; false: this instance's own view. */
  readonly shared: boolean;
}

/** Every target's admission state, read live (one read of the shared state per target). */
export async function admissionReport(
  admission: Admission,
  config: GatewayConfig,
  now = Date.now(),
): Promise<Record<string, TargetAdmissionReport>> {
  const entries = await Promise.all(
    Object.entries(config.targets).map(async ([id, target]) => {
      const lane = await admission.report(admissionLane(id));
      const report: TargetAdmissionReport = {
        requests_per_second: target.admission.requestsPerSecond,
        max_concurrent: target.admission.maxConcurrent,
        backoff_until: lane.backoffUntil > now ? new Date(lane.backoffUntil).toISOString() : null,
        next_turn_in_ms: Math.max(0, Math.round(lane.nextTurnAt - now)),
        in_flight: lane.inFlight,
        shared: lane.shared,
      };
      return [id, report] as const;
    }),
  );
  return Object.fromEntries(entries);
}
