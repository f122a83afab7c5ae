import { GatewayError } from '../errors.ts';
import { awsFailureKind } from './aws-errors.ts';

/** The part of a resolved SDK v3 client configuration the check reads. */
export interface AwsClientWithConfig {
  readonly config: {
    readonly region: () => Promise<string>;
    readonly credentials: () => Promise<unknown>;
  };
}

/**
 * Resolves the region and the credentials of every AWS client the configuration needs, with the SDK's own
 * chain (environment, profiles, container or instance roles), before the first request: without them
 * every request would answer 503 with the cause only in the log. Fails with one line saying what is
 * missing, as `ERR_AWS_UNCONFIGURED`.
 */
export async function checkAwsAccess(
  clients: ReadonlyArray<{ service: string; client: AwsClientWithConfig }>,
) {
  for (const { service, client } of clients) {
    try {
      await client.config.region();
    } catch (cause) {
      throw unconfigured(`no AWS region for ${service}: set AWS_REGION (or a profile's region)`, cause);
    }
    try {
      await client.config.credentials();
    } catch (cause) {
      if (awsFailureKind(cause) !== 'configuration') throw cause;
      const reason = (cause as Error).message;
      throw unconfigured(`no AWS credentials for ${service}: ${reason}`, cause);
    }
  }
}

function unconfigured(message: string, cause: unknown): GatewayError {
  return new GatewayError('ERR_AWS_UNCONFIGURED', message, { cause });
}
