import { createHash, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { KMSClient } from '@aws-sdk/client-kms';
import { createGateway, createSigner } from '#lib/composition.ts';
import { lookup } from '#lib/config/lookup.ts';
import { type CliContext, type CommandResult, UsageError } from '../context.ts';
import { deployConfigPath, loadDeployConfig, stageEnv, withoutSharedCache } from '../deploy-config.ts';

export const CERTIFICATE_HELP = `certificate --key ID --subject DN [--days N] [--csr] [--out FILE] [--config FILE] [--stage STAGE]

  Creates an X.509 certificate for signing key ID, signed by that key itself (KMS Sign: the private key
  never leaves KMS), for authorization servers that want a certificate (Entra ID, Salesforce) and for the
  x5t#S256 header. --csr creates a PKCS #10 request for your CA instead. DN: e.g.
  "CN=jwt-bearer-gateway prod, O=Example Corp". --days: validity (default 365). Prints the PEM, or writes
  it to FILE. Then keep it in Secrets Manager and name it in the configuration (docs/CONFIGURATION.md):
    certificate: { secretsManager: { secretId: "jwt-bearer-gateway/\${env:GATEWAY_STAGE}/certificates/ID" } }`;

/** `certificate`: a self-signed certificate (or CSR) for a configured signing key, signed in KMS. */
export async function certificate(
  options: {
    key?: string;
    subject?: string;
    days?: string;
    csr?: boolean;
    out?: string;
    config?: string;
    stage?: string;
  },
  context: CliContext,
): Promise<CommandResult> {
  if (!options.key) throw new UsageError('certificate needs --key ID (a signingKeys name)');
  if (!options.subject)
    throw new UsageError('certificate needs --subject DN, e.g. "CN=jwt-bearer-gateway prod"');
  const days = Number(options.days ?? 365);
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new UsageError('--days must be 1 to 3650');
  const env = stageEnv(options.stage, context.env);
  const { config } = await loadDeployConfig(deployConfigPath(options.config, context.env), env, [
    'signingKeys',
  ]);
  const key = lookup(config.signingKeys, options.key);
  if (!key) {
    throw new UsageError(
      `no signing key "${options.key}"; the configuration has: ${Object.keys(config.signingKeys).join(', ')}`,
    );
  }
  // No region or credentials for KMS: say so in one line (ERR_AWS_UNCONFIGURED) before signing.
  await createGateway(withoutSharedCache(config), { aws: context.aws, env }).checkAws();
  let kms = context.aws?.kms;
  // No certificate configured on the signer: it is the thing being made.
  const signer = createSigner(
    options.key,
    { ...key, certificateFile: undefined, certificate: undefined },
    () => {
      kms ??= new KMSClient({});
      return kms;
    },
  );
  const request = { signer, subject: options.subject, days };
  // Loaded only here: the X.509 library is the CLI's largest dependency.
  const { certificateSigningRequest, selfSignedCertificate } = await import('../certificate.ts');
  const pem = options.csr ? await certificateSigningRequest(request) : await selfSignedCertificate(request);
  const details: Record<string, unknown> = { key: options.key, kind: options.csr ? 'csr' : 'certificate' };
  const lines: string[] = [];
  if (!options.csr) {
    const parsed = new X509Certificate(pem);
    details.subject = parsed.subject;
    details.notAfter = parsed.validTo;
    details.x5tS256 = createHash('sha256').update(parsed.raw).digest('base64url');
    lines.push(
      `certificate for ${options.key}: ${parsed.subject.replace(/\n/g, ', ')}, valid to ${parsed.validTo}`,
      `x5t#S256 ${details.x5tS256}`,
    );
  }
  if (options.out) {
    await writeFile(options.out, pem);
    lines.push(`written to ${options.out}`);
    details.out = options.out;
  } else {
    lines.push(pem.trimEnd());
  }
  return { ok: true, text: lines.join('\n'), json: { ...details, pem } };
}
