import * as z from 'zod/mini';
import { tokenRequest } from '../token-request.ts';

/**
 * The request bodies the token function validates on every request, in `zod/mini` like the token request
 * they are made of (lib/token-request.ts says why). `schemas.ts` re-exports them for docs/openapi.json.
 */

/** `POST /v1/token`: the domain token request as a strict JSON object. */
export const tokenRequestBody = z.strictObject(tokenRequest.shape);

/** `DELETE /v1/token` and `POST /v1/token/invalidate`: the same, plus the token an API refused. */
export const tokenInvalidationBody = z.strictObject({
  ...tokenRequest.shape,
  access_token: z
    .string()
    .check(z.minLength(1), z.maxLength(8192), z.describe('The token the API refused (compared by hash).')),
});
