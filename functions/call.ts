// ANY /v1/call/{target}/{path+} (proxy mode) — see lib/http/call-handler.ts.
import { gatewayFromEnvironment } from '#lib/composition.ts';
import { callHandler } from '#lib/http/call-handler.ts';

const gateway = gatewayFromEnvironment();
// Load and validate the configuration during Lambda init: a bad one fails the cold start, with the log
// line "gateway configuration invalid", instead of the first request.
await gateway();

export const handler = callHandler(gateway);
