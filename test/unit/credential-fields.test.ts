import { describe, expect, it } from 'vitest';
import {
  authorizerCredentialFields,
  isCredentialHeader,
  isCredentialQueryParameter,
  NO_AUTHORIZER_FIELDS,
} from '#lib/config/credential-fields.ts';

describe('credential fields', () => {
  describe('authorizerCredentialFields', () => {
    it('reads the headers and query parameters of an API Gateway identity source, nothing else', () => {
      // Act
      const fields = authorizerCredentialFields(
        '$request.header.X-Caller-Token, $request.querystring.Token ,$context.identity.sourceIp,$stageVariables.x',
      );

      // Assess
      expect({ headers: [...fields.headers], query: [...fields.query] }).toEqual({
        headers: ['x-caller-token'],
        query: ['token'],
      });
    });

    it('names nothing without an identity source', () => {
      // Act
      const fields = authorizerCredentialFields(undefined);

      // Assess
      expect(fields.headers.size + fields.query.size).toBe(0);
    });
  });

  describe('isCredentialHeader', () => {
    it.each([
      'authorization',
      'proxy-authorization',
      'x-api-key',
      'cookie',
      'x-subject-token',
      'x-amz-security-token',
      'client-cert',
      'client-cert-chain',
      'x-forwarded-client-cert',
      'x-ssl-client-cert',
      'x-amzn-mtls-clientcert',
    ])('%s is a credential', (name) => {
      expect(isCredentialHeader(name, NO_AUTHORIZER_FIELDS)).toBe(true);
    });

    it.each(['x-subject', 'content-type', 'x-request-id', 'accept'])('%s is not', (name) => {
      expect(isCredentialHeader(name, NO_AUTHORIZER_FIELDS)).toBe(false);
    });
  });

  describe('isCredentialQueryParameter', () => {
    it.each([
      'X-Amz-Signature',
      'x-amz-credential',
      'X-AMZ-SECURITY-TOKEN',
      'X-Amz-Algorithm',
      'X-Amz-Expires',
    ])('%s is a credential', (name) => {
      expect(isCredentialQueryParameter(name, NO_AUTHORIZER_FIELDS)).toBe(true);
    });

    it('counts what the authorizer reads, and nothing like it', () => {
      // Prepare
      const authorizer = authorizerCredentialFields('$request.querystring.token');

      // Act + Assess
      expect(isCredentialQueryParameter('Token', authorizer)).toBe(true);
      expect(isCredentialQueryParameter('tokens', authorizer)).toBe(false);
      expect(isCredentialQueryParameter('X-Amz-Meta', authorizer)).toBe(false);
    });
  });
});
