import type { GatewayConfig, SecretReference } from './schema.ts';

/** Every secret reference in the configuration, with its field. */
export function secretReferences(config: GatewayConfig): Array<{ path: string; reference: SecretReference }> {
  const found: Array<{ path: string; reference: SecretReference }> = [];
  const add = (reference: SecretReference | undefined, path: string): void => {
    if (reference) found.push({ path, reference });
  };
  for (const [id, target] of Object.entries(config.targets)) {
    const auth = target.clientAuthentication;
    if ('secret' in auth) add(auth.secret, `targets.${id}.clientAuthentication.secret`);
    add(target.password?.username, `targets.${id}.password.username`);
    add(target.password?.password, `targets.${id}.password.password`);
  }
  for (const [id, caller] of Object.entries(config.callers)) {
    caller.apiKeys.forEach((key, index) => {
      if (!('sha256' in key)) add(key, `callers.${id}.apiKeys[${index}]`);
    });
  }
  return found;
}
