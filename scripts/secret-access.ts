// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the ${env:NAME} placeholder the configuration uses.
import type { ConfigIssue } from '#lib/config/config-error.ts';
import type { GatewayConfig } from '#lib/config/schema.ts';
import { secretReferences } from '#lib/config/secret-references.ts';

/**
 * The names the functions' roles may read in Secrets Manager: serverless.yml custom.secretPrefix,
 * `jwt-bearer-gateway/<stage>/`, so a stage reads only its own secrets. One build is deployed to any
 * stage, so the configuration names the stage with the placeholder serverless.yml sets on every function.
 */
export const SECRET_PREFIX = 'jwt-bearer-gateway/${env:GATEWAY_STAGE}/';
/** The jwks function reads only the signing keys' certificates, under this (infra/iam.yml). */
const CERTIFICATE_SECRET_PREFIX = `${SECRET_PREFIX}certificates/`;

/**
 * Each Secrets Manager reference of a deploy configuration whose name the function reading it may not
 * read (infra/iam.yml): refused by the build, since in Lambda it would be an AccessDenied on every request
 * that needs it (or, with a literal stage, a secret of another stage). A name that starts with a
 * `${env:NAME}` placeholder is known only in Lambda, so passes.
 */
export function secretAccessIssues(config: GatewayConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const { path, reference } of secretReferences(config)) {
    const id = reference.secretsManager?.secretId;
    if (id === undefined || id.startsWith('${env:')) continue;
    // An ARN names the secret after `:secret:` (and ends in a random suffix, which the prefix tolerates).
    const name = /^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(.*)$/.exec(id)?.[1] ?? id;
    const certificate = path.startsWith('signingKeys.');
    const prefix = certificate ? CERTIFICATE_SECRET_PREFIX : SECRET_PREFIX;
    if (!name.startsWith(prefix)) {
      const functions = certificate ? 'the jwks and token functions may' : 'the token function may';
      issues.push({
        path: `${path}.secretsManager.secretId`,
        message: `${functions} read only secrets named ${prefix}… (infra/iam.yml: each stage its own)`,
      });
    }
  }
  return issues;
}
