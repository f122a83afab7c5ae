import { expect } from 'vitest';
import { GatewayError, type GatewayErrorCode } from '#lib/errors.ts';

/** The rejection of `promise`, which must be a GatewayError with `code`. */
export async function rejectsWithGatewayError(
  promise: Promise<unknown>,
  code: GatewayErrorCode,
): Promise<GatewayError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected a rejection with ${code}`);
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(GatewayError);
  expect((error as GatewayError).code).toBe(code);
  return error as GatewayError;
}
